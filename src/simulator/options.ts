import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { FAULT_KINDS, type FaultOptions, type ScriptStep } from './faults.js';
import { checkSimulatorKeys } from './option-keys.js';

export type SimulatedProvider = 'anthropic' | 'openai';

/** A metered dimension: requests, input, output or total tokens per minute. */
export type RateDimension = 'rpm' | 'itpm' | 'otpm' | 'tpm';

/** Organisation limits. An omitted limit is not enforced. */
export interface SimulatorLimits {
  /** Requests per minute (both providers). */
  readonly rpm?: number;
  /** Anthropic input tokens per minute: `input_tokens + cache_creation_input_tokens`. */
  readonly itpm?: number;
  /** Anthropic output tokens per minute: `max_tokens` at start, settled to the actual output. */
  readonly otpm?: number;
  /** OpenAI tokens per minute: prompt tokens + `max_tokens` at start, settled at the end. */
  readonly tpm?: number;
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
  /** Organisation limits; omitted ones are unlimited. @default {} */
  readonly limits?: SimulatorLimits;
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
  openai: ['rpm', 'tpm'],
};

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
  for (const [name, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    if (name !== 'concurrent' && !dimensionsOf(provider).includes(name as RateDimension))
      throw new InvalidConfigError(
        `limits.${name}`,
        `no value: provider '${provider}' meters ${dimensionsOf(provider).join(', ')} and concurrent`,
        value,
      );
    positive(`limits.${name}`, value);
    if (name === 'concurrent') integer('limits.concurrent', value);
  }

  const perSecond = new Set<RateDimension>(
    options.perSecond === true
      ? dimensionsOf(provider)
      : options.perSecond === false || options.perSecond === undefined
        ? []
        : options.perSecond,
  );
  for (const dimension of perSecond) {
    if (!dimensionsOf(provider).includes(dimension))
      throw new InvalidConfigError('perSecond', dimensionsOf(provider).join(', '), dimension);
  }
  // Per-second buckets hold limit/60; below one request nothing could ever be admitted.
  if (perSecond.has('rpm') && limits.rpm !== undefined && limits.rpm < 60)
    throw new InvalidConfigError(
      'limits.rpm',
      'at least 60 when rpm is enforced per second',
      limits.rpm,
    );

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
  const seed = options.seed ?? DEFAULTS.seed;
  if (!Number.isInteger(seed)) throw new InvalidConfigError('seed', 'an integer', seed);

  return {
    provider,
    limits,
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

function validateStep(index: number, step: ScriptStep): void {
  const name = `faults.script[${index}]`;
  if (step.kind === 'ok') return;
  if (!FAULT_KINDS.includes(step.kind))
    throw new InvalidConfigError(name, `kind 'ok' or one of ${FAULT_KINDS.join(', ')}`, step.kind);
  if (step.kind === 'rate_limit' && step.retryAfterSeconds !== undefined)
    nonNegative(`${name}.retryAfterSeconds`, step.retryAfterSeconds);
  if (step.kind === 'slow_first_byte' && step.delayMs !== undefined)
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
