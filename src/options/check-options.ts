/**
 * Refuses option keys a factory does not know. TypeScript catches a misspelt option in a literal,
 * but plain JavaScript (and an object built elsewhere) does not: `gcra({ bursts: 5 })` would run
 * with the default burst. Every factory calls `checkKnownKeys` first; the refusal names the
 * nearest known option.
 */
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { UnknownOptionError } from '../errors/unknown-option-error.js';

/** Extras of `checkKnownKeys`. */
export interface CheckKnownKeysOptions {
  /**
   * Names other libraries use for one of ours, lower-case keys: `{ retries: 'maxRetries' }`. An
   * unknown key matching one is pointed at our name, however far the spellings are apart.
   */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Where a nested options object sits (`'sampling'`): its keys are named `sampling.<key>`. */
  readonly path?: string;
  /** The factory has required options: `undefined` is refused too. @default false */
  readonly required?: boolean;
}

/**
 * Throws `UnknownOptionError` for the first own key of `options` that is not in `knownKeys`, and
 * `InvalidConfigError` when `options` is not a (non-array) object, or undefined where allowed.
 * `where` names the factory in the message, e.g. `'gcra()'`. Keys whose value is `undefined` are
 * checked too: `{ bursts: undefined }` is as much a typo.
 */
export function checkKnownKeys(
  options: unknown,
  knownKeys: readonly string[],
  where: string,
  extra: CheckKnownKeysOptions = {},
): void {
  const { path } = extra;
  if (options === undefined && !extra.required) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError(path ?? 'options', `an options object for ${where}`, options);
  }
  for (const key of Object.keys(options)) {
    if (knownKeys.includes(key)) continue;
    const suggestion = nearestOption(key, knownKeys, extra.aliases);
    const option = path === undefined ? key : `${path}.${key}`;
    const received = (options as Record<string, unknown>)[key];
    throw new UnknownOptionError(option, received, where, suggestion, knownKeys);
  }
}

/**
 * The keys of an options type, listed once and held to the type by the compiler: a key the type
 * lacks, or one of its keys left out, is a type error. So the runtime list cannot drift from the
 * documented options.
 */
export function optionKeys<T extends object>(
  keys: {
    readonly [K in keyof Required<T>]: true;
  },
): readonly string[] {
  return Object.keys(keys);
}

/**
 * The known option a user most likely meant by `unknown`, or undefined when none is close:
 * an alias (a name other libraries use), then the same name in another case, then a known name
 * of the same stem: containing it or contained in it (`retries` → `maxRetries`, `halfOpenAfter`
 * → `halfOpenAfterMs`) or starting with three quarters of it (`minRetry` → `minRetries`), then
 * the fewest edits, within a third of its length (at least 2).
 * Ties go to the earlier known name.
 */
export function nearestOption(
  unknown: string,
  known: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string | undefined {
  const wanted = unknown.toLowerCase();
  const alias = Object.hasOwn(aliases, wanted) ? aliases[wanted] : undefined;
  if (alias !== undefined && known.includes(alias)) return alias;
  const lower = known.map((k) => k.toLowerCase());
  const same = lower.indexOf(wanted);
  if (same >= 0) return known[same];
  const byDistance = (candidates: number[]) => {
    let best: number | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const i of candidates) {
      const d = editDistance(wanted, lower[i]!);
      if (d < bestDistance) {
        best = i;
        bestDistance = d;
      }
    }
    return { best, bestDistance };
  };
  const indices = lower.map((_, i) => i);
  // Same stem: one name inside the other, or a long common start (`minRetry`, `minRetries`).
  const stem = Math.max(4, Math.ceil(wanted.length * 0.75));
  const related = indices.filter((i) => {
    const k = lower[i]!;
    if (wanted.length >= 3 && k.includes(wanted)) return true;
    if (k.length >= 3 && wanted.includes(k)) return true;
    return commonPrefix(k, wanted) >= stem;
  });
  if (related.length > 0) return known[byDistance(related).best!];
  const { best, bestDistance } = byDistance(indices);
  if (best === undefined || bestDistance > Math.max(2, Math.floor(wanted.length / 3))) {
    return undefined;
  }
  return known[best];
}

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions from a to b. */
export function editDistance(a: string, b: string): number {
  if (a.length < b.length) [a, b] = [b, a];
  // One row of the table at a time, over the shorter string.
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Throws `InvalidConfigError` for the first of `names` that `options` holds with a value other
 * than `undefined` or a function: a callback option given a number or an array would otherwise
 * fail as a TypeError at the first call, far from its cause.
 */
export function checkCallbacks(options: unknown, names: readonly string[], path?: string): void {
  if (typeof options !== 'object' || options === null) return;
  for (const name of names) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new InvalidConfigError(
        path === undefined ? name : `${path}.${name}`,
        'a function',
        value,
      );
    }
  }
}
