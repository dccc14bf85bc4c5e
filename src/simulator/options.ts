import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { FAULT_KINDS, type FaultOptions, type ScriptStep } from './faults.js';
import { checkSimulatorKeys } from './option-keys.js';

export type SimulatedProvider = 'anthropic' | 'openai';

/**
 * A metered dimension: requests, input, output or total tokens per minute; OpenAI also meters
 * requests and tokens per day.
 */
export type RateDimension = 'rpm' | 'itpm' | 'otpm' | 'tpm' | 'rpd' | 'tpd';

/**
 * How Anthropic output tokens count against OTPM:
 * - `'generated'`: the 2026 rule, "counting only the actual tokens generated; `max_tokens` does
 *   not factor in". A request is admitted while the bucket holds at least one token, and each
 *   output token is charged as it is produced (the bucket may go below zero meanwhile).
 * - `'max_tokens'`: the rule of the 2025 docs: `max_tokens` is charged at the start and the
 *   unused part given back at the end; a request whose `max_tokens` exceeds the bucket waits.
 */
export type OutputCounting = 'generated' | 'max_tokens';

/**
 * Another consumer of the same organisation's quota, outside any pipeline under test: it spends
 * its share of every bucket continuously (its draw comes off each bucket's refill), so the
 * pipeline sees less remaining than its own usage explains. `share` applies to every limit;
 * `perMinute` sets units per minute on per-minute dimensions and wins over it.
 */
export interface BackgroundTraffic {
  /** Fraction of every limit the other consumer spends, in [0, 1). @default 0 */
  readonly share?: number;
  /** Units per minute spent on a per-minute dimension, below its limit; wins over `share`. */
  readonly perMinute?: Readonly<Partial<Record<RateDimension, number>>>;
}

/** Organisation limits. An omitted limit is not enforced. */
export interface SimulatorLimits {
  /** Requests per minute (both providers). */
  readonly rpm?: number;
  /** Anthropic input tokens per minute: `input_tokens + cache_creation_input_tokens`. */
  readonly itpm?: number;
  /** Anthropic output tokens per minute, counted as `outputCounting` says. */
  readonly otpm?: number;
  /** OpenAI tokens per minute: prompt tokens + `max_tokens` at start, settled at the end. */
  readonly tpm?: number;
  /** OpenAI requests per day: a bucket of this capacity refilled over 24 hours. */
  readonly rpd?: number;
  /** OpenAI tokens per day, charged like `tpm`: a bucket refilled over 24 hours. */
  readonly tpd?: number;
  /** Requests in flight at once (both providers); one more gets a 429. */
  readonly concurrent?: number;
}

/** Seeded latency: each response waits `firstTokenMs` then `perTokenMs` per output token. */
export interface LatencyModel {
  /** Time to first token, in ms. @default 0 */
  readonly firstTokenMs?: number;
  /** Time per output token, in ms. @default 0 */
  readonly perTokenMs?: number;
  /** Relative spread of both times, uniform in ±jitter (0.2 = ±20%), seeded. @default 0 */
  readonly jitter?: number;
}

/** Anthropic prompt caching: prefixes ending at a `cache_control` block are remembered. */
export interface PromptCacheOptions {
  /** Prefixes shorter than this many tokens are not cached (as on the real API). @default 1024 */
  readonly minTokens?: number;
  /** How long a cached prefix lives after its last use, in ms. @default 300_000 */
  readonly ttlMs?: number;
}

export interface SimulatorOptions {
  /** Which wire format to speak. */
  readonly provider: SimulatedProvider;
  /**
   * Limits of each model class; omitted ones are unlimited. Every model class has its own
   * buckets, as the providers meter them: requests to Sonnet 4.x and to Opus 4.x never share a
   * bucket. The class of a model is its preset class (`sonnet-4.x`, `gpt-4o`, see
   * `modelClassOf`), or the model name itself when it has none. `concurrent` is organisation-wide.
   * @default {}
   */
  readonly limits?: SimulatorLimits;
  /**
   * Limits of named model classes (`{ 'opus-4.x': { rpm: 50 } }`) in place of `limits`; keys are
   * class names as `modelClassOf` gives them, or model names without a class.
   * @default {}
   */
  readonly modelClasses?: Readonly<Record<string, SimulatorLimits>>;
  /** Anthropic only: how output tokens count against OTPM. @default 'generated' */
  readonly outputCounting?: OutputCounting;
  /** Another consumer spending part of the quota. @default none */
  readonly background?: BackgroundTraffic;
  /**
   * Probability that a 429 from the limits comes without rate-limit headers and without
   * `retry-after` (only the message's "try again in" remains), as OpenAI has sent them; seeded.
   * @default 0
   */
  readonly headerless429?: number;
  /**
   * Send token `remaining` headers exactly instead of rounded to the nearest thousand as
   * Anthropic does (OpenAI's are always exact). For tests that read exact figures.
   * @default false
   */
  readonly exactRemaining?: boolean;
  /**
   * Enforce per-minute limits as per-second buckets (capacity limit/60, same refill), as the
   * providers may do: "60 RPM as 1 per second". `true` for every dimension or a list of them.
   * @default false
   */
  readonly perSecond?: boolean | readonly RateDimension[];
  /** A number is the time to first token in ms; or a full latency model. @default 0 */
  readonly latencyMs?: number | LatencyModel;
  /** Injected faults, by rate and by script. @default {} */
  readonly faults?: FaultOptions;
  /**
   * Output length in tokens: a fixed number, a `{ min, max }` range drawn from the seeded
   * generator, always capped at the request's `max_tokens`.
   * @default { min: 1, max: max_tokens }
   */
  readonly outputTokens?: number | { readonly min: number; readonly max: number };
  /** OpenAI only: the output budget of a request without `max_tokens`, in tokens. @default 1024 */
  readonly defaultMaxTokens?: number;
  /** Anthropic prompt caching model. @default { minTokens: 1024, ttlMs: 300_000 } */
  readonly promptCache?: PromptCacheOptions;
  /** Larger request bodies get 413, in bytes. @default 33_554_432 (32 MiB) */
  readonly maxBodyBytes?: number;
  /** When set, requests must carry this key; otherwise any non-empty key passes. */
  readonly apiKey?: string;
  /** TCP port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  readonly host?: string;
  /** Seed of every random draw (output lengths, latency, faults, ids). @default 1 */
  readonly seed?: number;
  /** Time source of the buckets, stats and latency waits. @default systemClock */
  readonly clock?: Clock;
}

/** Options with defaults applied and validated. */
export interface ResolvedOptions {
  readonly provider: SimulatedProvider;
  readonly limits: SimulatorLimits;
  readonly modelClasses: Readonly<Record<string, SimulatorLimits>>;
  readonly outputCounting: OutputCounting;
  /** Units per ms another consumer draws from each dimension's bucket, per limits. */
  readonly background: BackgroundTraffic;
  readonly headerless429: number;
  readonly exactRemaining: boolean;
  readonly perSecond: ReadonlySet<RateDimension>;
  readonly latency: Required<LatencyModel>;
  readonly faults: FaultOptions;
  readonly slowFirstByteMs: number;
  readonly outputTokens: { readonly min: number; readonly max: number } | undefined;
  readonly defaultMaxTokens: number;
  readonly promptCache: Required<PromptCacheOptions>;
  readonly maxBodyBytes: number;
  readonly apiKey: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly seed: number;
  readonly clock: Clock;
}

export const DEFAULTS = {
  slowFirstByteMs: 10_000,
  defaultMaxTokens: 1024,
  promptCacheMinTokens: 1024,
  promptCacheTtlMs: 300_000,
  maxBodyBytes: 32 * 1024 * 1024,
  port: 0,
  host: '127.0.0.1',
  seed: 1,
} as const;

const PROVIDER_DIMENSIONS: Readonly<Record<SimulatedProvider, readonly RateDimension[]>> = {
  anthropic: ['rpm', 'itpm', 'otpm'],
  openai: ['rpm', 'tpm', 'rpd', 'tpd'],
};

/** Dimensions metered per day rather than per minute. */
export const DAILY: ReadonlySet<RateDimension> = new Set(['rpd', 'tpd']);

/** The dimensions a provider meters. */
export function dimensionsOf(provider: SimulatedProvider): readonly RateDimension[] {
  return PROVIDER_DIMENSIONS[provider];
}

/** Applies defaults and refuses bad options with an `InvalidConfigError`. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  checkSimulatorKeys(options);
  const { provider } = options;
  if (provider !== 'anthropic' && provider !== 'openai')
    throw new InvalidConfigError('provider', "'anthropic' or 'openai'", provider);

  const limits = options.limits ?? {};
  checkLimits(provider, 'limits', limits);
  const modelClasses = options.modelClasses ?? {};
  if (typeof modelClasses !== 'object' || modelClasses === null)
    throw new InvalidConfigError('modelClasses', 'an object of limits per class', modelClasses);
  for (const [name, classLimits] of Object.entries(modelClasses)) {
    if (typeof classLimits !== 'object' || classLimits === null)
      throw new InvalidConfigError(`modelClasses.${name}`, 'an object of limits', classLimits);
    if (classLimits.concurrent !== undefined)
      throw new InvalidConfigError(
        `modelClasses.${name}.concurrent`,
        'no value: concurrency is organisation-wide (limits.concurrent)',
        classLimits.concurrent,
      );
    checkLimits(provider, `modelClasses.${name}`, classLimits);
  }
  const outputCounting = options.outputCounting ?? 'generated';
  if (outputCounting !== 'generated' && outputCounting !== 'max_tokens')
    throw new InvalidConfigError('outputCounting', "'generated' or 'max_tokens'", outputCounting);
  if (options.outputCounting !== undefined && provider !== 'anthropic')
    throw new InvalidConfigError(
      'outputCounting',
      "no value: OpenAI meters prompt + max_tokens in 'tpm'",
      options.outputCounting,
    );
  const background = resolveBackground(provider, options.background ?? {});
  for (const [path, l] of [
    ['limits', limits] as const,
    ...Object.entries(modelClasses).map(([name, l]) => [`modelClasses.${name}`, l] as const),
  ]) {
    for (const [name, rate] of Object.entries(background.perMinute ?? {})) {
      const limit = l[name as RateDimension];
      if (rate !== undefined && limit !== undefined && rate >= limit)
        throw new InvalidConfigError(
          `background.perMinute.${name}`,
          `below ${path}.${name} (${limit})`,
          rate,
        );
    }
  }
  const headerless429 = options.headerless429 ?? 0;
  if (typeof headerless429 !== 'number' || !(headerless429 >= 0 && headerless429 <= 1))
    throw new InvalidConfigError('headerless429', 'a probability in [0, 1]', headerless429);
  const exactRemaining = options.exactRemaining ?? false;
  if (typeof exactRemaining !== 'boolean')
    throw new InvalidConfigError('exactRemaining', 'a boolean', exactRemaining);

  if (
    options.perSecond !== undefined &&
    typeof options.perSecond !== 'boolean' &&
    !Array.isArray(options.perSecond)
  ) {
    throw new InvalidConfigError(
      'perSecond',
      'a boolean or a list of dimensions',
      options.perSecond,
    );
  }
  const perSecond = new Set<RateDimension>(
    options.perSecond === true
      ? dimensionsOf(provider).filter((d) => !DAILY.has(d))
      : options.perSecond === false || options.perSecond === undefined
        ? []
        : options.perSecond,
  );
  for (const dimension of perSecond) {
    if (!dimensionsOf(provider).includes(dimension) || DAILY.has(dimension))
      throw new InvalidConfigError(
        'perSecond',
        dimensionsOf(provider)
          .filter((d) => !DAILY.has(d))
          .join(', '),
        dimension,
      );
  }
  // Per-second buckets hold limit/60; below one request nothing could ever be admitted.
  for (const [path, l] of [
    ['limits', limits] as const,
    ...Object.entries(modelClasses).map(([name, l]) => [`modelClasses.${name}`, l] as const),
  ]) {
    if (perSecond.has('rpm') && l.rpm !== undefined && l.rpm < 60)
      throw new InvalidConfigError(
        `${path}.rpm`,
        'at least 60 when rpm is enforced per second',
        l.rpm,
      );
  }

  const latencyInput: LatencyModel =
    typeof options.latencyMs === 'number'
      ? { firstTokenMs: options.latencyMs }
      : (options.latencyMs ?? {});
  const latency = {
    firstTokenMs: nonNegative('latencyMs.firstTokenMs', latencyInput.firstTokenMs ?? 0),
    perTokenMs: nonNegative('latencyMs.perTokenMs', latencyInput.perTokenMs ?? 0),
    jitter: nonNegative('latencyMs.jitter', latencyInput.jitter ?? 0),
  };
  if (latency.jitter > 1)
    throw new InvalidConfigError('latencyMs.jitter', 'a number in [0, 1]', latency.jitter);

  const faults = options.faults ?? {};
  let rateSum = 0;
  for (const [kind, rate] of Object.entries(faults.rates ?? {})) {
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))
      throw new InvalidConfigError(`faults.rates.${kind}`, 'a probability in [0, 1]', rate);
    rateSum += rate;
  }
  if (rateSum > 1 + 1e-9)
    throw new InvalidConfigError('faults.rates', 'probabilities summing to at most 1', rateSum);
  for (const [i, step] of (faults.script ?? []).entries()) validateStep(i, step);
  const slowFirstByteMs = nonNegative(
    'faults.slowFirstByteMs',
    faults.slowFirstByteMs ?? DEFAULTS.slowFirstByteMs,
  );

  let outputTokens: { min: number; max: number } | undefined;
  if (typeof options.outputTokens === 'number') {
    integer('outputTokens', positive('outputTokens', options.outputTokens));
    outputTokens = { min: options.outputTokens, max: options.outputTokens };
  } else if (options.outputTokens) {
    const { min, max } = options.outputTokens;
    integer('outputTokens.min', positive('outputTokens.min', min));
    integer('outputTokens.max', positive('outputTokens.max', max));
    if (max < min) throw new InvalidConfigError('outputTokens.max', `at least min (${min})`, max);
    outputTokens = { min, max };
  }

  const port = options.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidConfigError('port', 'an integer in [0, 65535]', port);
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey === ''))
    throw new InvalidConfigError('apiKey', 'a non-empty string', options.apiKey);
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === ''))
    throw new InvalidConfigError('host', 'a non-empty string (an interface to bind)', options.host);
  const seed = options.seed ?? DEFAULTS.seed;
  if (!Number.isInteger(seed)) throw new InvalidConfigError('seed', 'an integer', seed);

  return {
    provider,
    limits,
    modelClasses,
    outputCounting,
    background,
    headerless429,
    exactRemaining,
    perSecond,
    latency,
    faults,
    slowFirstByteMs,
    outputTokens,
    defaultMaxTokens: integer(
      'defaultMaxTokens',
      positive('defaultMaxTokens', options.defaultMaxTokens ?? DEFAULTS.defaultMaxTokens),
    ),
    promptCache: {
      minTokens: nonNegative(
        'promptCache.minTokens',
        options.promptCache?.minTokens ?? DEFAULTS.promptCacheMinTokens,
      ),
      ttlMs: positive('promptCache.ttlMs', options.promptCache?.ttlMs ?? DEFAULTS.promptCacheTtlMs),
    },
    maxBodyBytes: integer(
      'maxBodyBytes',
      positive('maxBodyBytes', options.maxBodyBytes ?? DEFAULTS.maxBodyBytes),
    ),
    apiKey: options.apiKey,
    port,
    host: options.host ?? DEFAULTS.host,
    seed,
    clock: options.clock ?? systemClock,
  };
}

function checkLimits(provider: SimulatedProvider, path: string, limits: SimulatorLimits): void {
  if (typeof limits !== 'object' || limits === null)
    throw new InvalidConfigError(path, 'an object of limits', limits);
  for (const [name, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (name !== 'concurrent' && !dimensionsOf(provider).includes(name as RateDimension))
      throw new InvalidConfigError(
        `${path}.${name}`,
        `no value: provider '${provider}' meters ${dimensionsOf(provider).join(', ')} and concurrent`,
        value,
      );
    positive(`${path}.${name}`, value);
    if (name === 'concurrent') integer(`${path}.concurrent`, value);
  }
}

function resolveBackground(
  provider: SimulatedProvider,
  background: BackgroundTraffic,
): BackgroundTraffic {
  if (typeof background !== 'object' || background === null)
    throw new InvalidConfigError('background', '{ share } or { perMinute }', background);
  const { share, perMinute } = background;
  if (share !== undefined && (typeof share !== 'number' || !(share >= 0 && share < 1)))
    throw new InvalidConfigError('background.share', 'a number in [0, 1)', share);
  for (const [name, value] of Object.entries(perMinute ?? {})) {
    if (value === undefined) continue;
    const perMinuteDimensions = dimensionsOf(provider).filter((d) => !DAILY.has(d));
    if (!perMinuteDimensions.includes(name as RateDimension))
      throw new InvalidConfigError(
        `background.perMinute.${name}`,
        `no value: provider '${provider}' meters ${perMinuteDimensions.join(', ')} per minute`,
        value,
      );
    nonNegative(`background.perMinute.${name}`, value);
  }
  return background;
}

function validateStep(index: number, step: ScriptStep): void {
  const name = `faults.script[${index}]`;
  if (step.kind === 'ok') return;
  if (!FAULT_KINDS.includes(step.kind))
    throw new InvalidConfigError(name, `kind 'ok' or one of ${FAULT_KINDS.join(', ')}`, step.kind);
  if (step.kind === 'rate_limit' && step.retryAfterSeconds !== undefined)
    nonNegative(`${name}.retryAfterSeconds`, step.retryAfterSeconds);
  if (
    (step.kind === 'slow_first_byte' || step.kind === 'slow_first_event') &&
    step.delayMs !== undefined
  )
    nonNegative(`${name}.delayMs`, step.delayMs);
}

function positive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InvalidConfigError(option, 'a positive finite number', value);
  return value;
}

function nonNegative(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new InvalidConfigError(option, 'a finite number >= 0', value);
  return value;
}

function integer(option: string, value: number): number {
  if (!Number.isInteger(value)) throw new InvalidConfigError(option, 'an integer', value);
  return value;
}
