/**
 * Shared pieces of the fuzz tests: junk values a JavaScript caller might pass where a typed
 * option belongs, option objects mixing good values, junk and unknown keys, and the checks every
 * fuzz test makes (a refusal is a typed error of this library; nothing hangs).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect } from 'vitest';
import { isLlmResilienceError } from '../../src/errors/index.js';

/** Values of every JavaScript type and the numbers that break arithmetic. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1,
    0,
    -0,
    0.5,
    1e300,
    -1e300,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MIN_VALUE,
    '',
    ' ',
    '1',
    '-1',
    'NaN',
    '1e400',
    true,
    false,
    [],
    {},
  ),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
  fc.string({ maxLength: 12 }),
  fc.constant(Symbol('fuzz')),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
  fc.constant(() => undefined),
);

/** A good value most of the time, junk otherwise. */
export function maybe<T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: good, weight: 3 }, { arbitrary: junk, weight: 1 });
}

/**
 * An options object over `model` (each key present or not, with a good value or junk) and, now
 * and then, a key the factory does not know.
 */
export function options(
  model: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  const shaped: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, arb] of Object.entries(model)) shaped[k] = maybe(arb);
  const dirty = fc
    .tuple(
      fc.record(shaped, { requiredKeys: [] }),
      fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), junk), { freq: 4 }),
    )
    .map(([o, extra]) => (extra && !(extra[0] in o) ? { ...o, [extra[0]]: extra[1] } : o));
  // Half the objects hold only well-typed values, so that what is built gets used too.
  const clean = fc.record(model, { requiredKeys: [] });
  return fc.oneof(clean, dirty);
}

/** An options object over `model` with well-typed values only (each key present or not). */
export function cleanOptions(
  model: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(model, { requiredKeys: [] });
}

/**
 * Option trees built by `tree(options)`: half of them all clean (every nested object too), so
 * that a valid configuration is reached often, half with junk anywhere.
 */
export function optionTrees(
  tree: (o: typeof options) => fc.Arbitrary<Record<string, unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(tree(cleanOptions), tree(options));
}

/** Whether `error` is a refusal this library may throw: one of its typed errors. */
export function isTyped(error: unknown): boolean {
  return error instanceof Error && isLlmResilienceError(error) && !(error instanceof TypeError);
}

/** Describes a value for a failure message (symbols and bigints included). */
export function show(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) =>
      typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function' ? String(v) : v,
    );
  } catch {
    return String(value);
  }
}

/**
 * Runs `make` (construction), then `use` on what it built: both may succeed, or throw one of the
 * library's typed errors; anything else (a TypeError, a non-Error, a hang past `timeoutMs`)
 * fails with the options shown.
 */
export async function onlyTypedOrSuccess<T>(
  input: unknown,
  make: () => T,
  use: (made: T) => unknown = () => undefined,
  timeoutMs = 2000,
): Promise<'made' | 'refused'> {
  let made: T;
  try {
    made = make();
  } catch (error) {
    if (isTyped(error)) return 'refused';
    throw new Error(`construction threw an untyped ${describe(error)} for ${show(input)}`, {
      cause: error,
    });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(() => use(made)), hang]);
    if (outcome === 'hang') throw new Error(`use hung past ${timeoutMs} ms for ${show(input)}`);
  } catch (error) {
    if (isTyped(error)) return 'made';
    if (error instanceof Error && error.message.startsWith('use hung')) throw error;
    throw new Error(`use threw an untyped ${describe(error)} for ${show(input)}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
  return 'made';
}

/** One factory's fuzz: what `fuzzFactory` draws, builds, uses and counts. */
export interface FactoryFuzz<I, T> {
  /** The input of one run: an options object, or a tuple of what the factory takes. */
  readonly input: fc.Arbitrary<I>;
  /** Builds with the input: succeeds, or throws one of the library's typed errors. */
  readonly make: (input: I) => T;
  /** A call on what was built: succeeds, or rejects typed, within `timeoutMs`. */
  readonly use?: (made: T, input: I) => unknown;
  /** Runs of the property (one of RUNS). */
  readonly runs: number;
  /** @default 2000 */
  readonly timeoutMs?: number;
  /** Counts each outcome, for the file's printed figures. */
  readonly tally: (outcome: 'made' | 'refused', input: I) => void;
}

/**
 * The property every factory fuzz states: each input drawn is built or refused typed, and what
 * was built runs a call that completes or rejects typed in time (`onlyTypedOrSuccess`).
 */
export function fuzzFactory<I, T>(fuzz: FactoryFuzz<I, T>): Promise<void> {
  const { use } = fuzz;
  return fc.assert(
    fc.asyncProperty(fuzz.input, async (input) => {
      const outcome = await onlyTypedOrSuccess(
        input,
        () => fuzz.make(input),
        use ? (made) => use(made, input) : undefined,
        fuzz.timeoutMs,
      );
      fuzz.tally(outcome, input);
    }),
    { numRuns: fuzz.runs },
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return `non-Error ${typeof error}: ${show(error)}`;
}

/**
 * Runs per property, tuned so each fuzz file stays within a few seconds; `FUZZ_RUNS=10` runs ten
 * times as many (a longer hunt on your machine).
 */
const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS) || 1);
export const RUNS = {
  fast: 300 * SCALE,
  medium: 120 * SCALE,
  slow: 30 * SCALE,
} as const;

// One fixed seed by default, so that the suite gives the same verdict on every run; set
// FUZZ_SEED to explore other inputs (fast-check prints the seed and path of any failure).
fc.configureGlobal({
  seed: process.env.FUZZ_SEED === undefined ? 20_261_130 : Number(process.env.FUZZ_SEED),
});

/**
 * Fails the file if any promise rejection went unhandled while its tests ran (a leak no single
 * assertion sees). Call at the top level of a test file.
 */
export function trapUnhandledRejections(): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled.map((r) => String(r))).toEqual([]);
  });
}
