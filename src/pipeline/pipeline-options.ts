/**
 * Options of `anthropicPolicy` and `openaiPolicy`, their defaults, and their checks. Everything
 * is checked when the policy is made: a wrong option is a typed error naming it, never a surprise
 * at the first call.
 */
import type { Cluster, Redis } from 'ioredis';
import { schemeOfKnownTier } from '../../policies/find-preset.js';
import type { PresetProvider, TierPreset } from '../../policies/types.js';
import type { CircuitBreakerPolicyOptions } from '../circuit/circuit-breaker-policy.js';
import type { Clock } from '../clock.js';
import type { BulkheadPolicyOptions } from '../concurrency/bulkhead-policy.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { BudgetStore } from '../limiter/budget-store.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import type { TokenCounter } from '../providers/text-tokens.js';
import { RETRY_DEFAULTS, type RetryPolicyOptions } from '../retry/retry-policy.js';
import { type RedisBudgetClient, RedisBudgetStore } from '../stores/redis/redis-budget-store.js';

/** Per-minute limits (or per `periodMs`), instead of or over a preset's. */
export interface PipelineLimits {
  /** Requests per period. */
  rpm?: number;
  /** Input tokens per period (Anthropic). */
  itpm?: number;
  /** Output tokens per period (Anthropic). */
  otpm?: number;
  /** Input + output tokens per period (OpenAI). */
  tpm?: number;
}

/** Per-attempt and overall time limits, in ms. */
export interface PipelineTimeout {
  /**
   * One attempt, from its start to the response's headers (a stream then runs on, however long;
   * its wait for the first event is bounded by `totalMs` and the SDK's own timeout).
   */
  attemptMs?: number;
  /** The whole logical call, retries and waits included. */
  totalMs?: number;
}

export interface PipelineFallback<R = unknown> {
  /**
   * The backup, given the error: another pipeline's call
   * (`() => wrap(backup).execute(() => openai.chat.completions.create(...))`), a cached answer...
   */
  to: (error: unknown) => R | PromiseLike<R>;
  /** Which errors fall back. @default isTransientProviderError-based `shouldFallback` */
  on?: (error: unknown) => boolean;
}

export interface ProviderPolicyOptions<R = unknown> {
  /**
   * A tier of the provider's preset scheme (`build`, `tier-2`...); with `model`. A tier the
   * provider does not have is refused when the policy is made, with or without `model`.
   */
  tier?: string;
  /** A preset row (`presets.anthropic...`), instead of `tier` + `model`. */
  preset?: TierPreset;
  /**
   * The model this pipeline calls most; it picks the preset row. Requests for other models are
   * charged to their own class's budget (one class = one budget, as the provider meters it).
   */
  model?: string;
  /**
   * Limits per `periodMs`: instead of a preset, or over some of its numbers. Limits win: beside a
   * tier they replace the numbers they name for every model class, and when they name every
   * dimension the provider meters, a model the tier has no row for (no known class, or no numbers
   * in that tier) is charged to a budget of these limits alone instead of being refused.
   */
  limits?: PipelineLimits;
  /** The period of the limits, in ms. @default 60_000 (the providers' minute) */
  periodMs?: number;
  /**
   * Share of the provider's rate this pipeline may use, in (0, 1]; keep room for other services
   * on the same organisation with less than 1.
   * @default 1 (the whole quota: the accounting mirrors the provider's bucket)
   */
  utilization?: number;
  /**
   * How the provider counts output tokens: `max_tokens` charged at the start and the unused part
   * credited at the end, or only the tokens `generated` (a learned estimate is reserved, capped
   * by `max_tokens`, and settled).
   * @default the preset's rule; `max_tokens` with bare `limits`
   */
  outputTokens?: 'max_tokens' | 'generated';
  /**
   * One budget for every worker (process, host) that uses the same `key`: the queues live in
   * Redis (a `RedisBudgetStore` with its defaults: prefix 'llmr', `onUnavailable: 'fail-closed'`),
   * and what one worker's settle gives back moves the callers waiting in every worker forward.
   * For other store options, pass `store: new RedisBudgetStore(redis, options)` instead.
   * A Sentinel client (`new Redis({ sentinels, name })`) works as is: the store's subscriber is a
   * `redis.duplicate()`, which follows the master too (docs/redis.md#redis-sentinel).
   * @default none: the budget is this process's
   */
  redis?: Redis | Cluster;
  /** A budget store of your own (a configured RedisBudgetStore, tests...); overrides `redis`. */
  store?: BudgetStore;
  /** Budget name shared by every worker of the same organisation quota. @default 'default' */
  key?: string;
  /** A tenant's own budget inside the global one; both are charged, all or nothing. */
  tenant?: string;
  /** Share of each limit a tenant may use, in (0, 1]. @default 1 */
  tenantShare?: number;
  /**
   * Retries (cockatiel-style options), or `false`. With `timeout.totalMs`, values that leave no
   * room for one retry inside it are refused, and the defaults are bounded by it (`resolveRetry`).
   * @default { maxRetries: 2 }
   */
  retry?: Omit<RetryPolicyOptions, 'clock'> | false;
  /** Circuit breaker options, or `false`. @default { consecutiveFailures: 5, halfOpenAfterMs: 30_000 } */
  circuit?: Omit<CircuitBreakerPolicyOptions, 'clock'> | false;
  /** Calls in flight (streams held until they end), or `false`. @default { maxConcurrent: 20, maxQueue: 100 } */
  bulkhead?: Omit<BulkheadPolicyOptions, 'clock'> | false;
  /** A total timeout in ms, per-attempt and total limits, or `false`. @default false */
  timeout?: number | PipelineTimeout | false;
  /** Where transient failures go: another pipeline, a cached answer... @default none */
  fallback?: PipelineFallback<R> | false;
  /** Longest wait for budget, in ms; beyond it `RateLimitExceededError` (a fallback trigger). @default 60_000 */
  maxWaitMs?: number;
  /**
   * Longest time a request takes from being let through to reaching the provider, in ms. While
   * it travels, a provider bucket that is full wastes its refill; a start on a (nearly) full
   * budget counts that loss, so the budget never runs ahead of the provider. Costs nothing while
   * the budget runs tight.
   * @default 250 (a first burst of 128 took 38-55 ms to arrive on loopback; a new TLS connection
   * to a provider takes longer)
   */
  arrivalLagMs?: number;
  /** Counts input tokens of a request. @default the provider's estimator (docs/providers.md) */
  tokenCounter?: TokenCounter;
  /** The fetch the policy calls underneath. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Time source. @default systemClock */
  clock?: Clock;
}

export const PIPELINE_DEFAULTS = {
  periodMs: 60_000,
  utilization: 1,
  key: 'default',
  tenantShare: 1,
  maxWaitMs: 60_000,
  arrivalLagMs: 250,
  retry: { maxRetries: 2 },
  circuit: { consecutiveFailures: 5, halfOpenAfterMs: 30_000 },
  bulkhead: { maxConcurrent: 20, maxQueue: 100 },
} as const;

const KEYS = optionKeys<ProviderPolicyOptions>({
  tier: true,
  preset: true,
  model: true,
  limits: true,
  periodMs: true,
  utilization: true,
  outputTokens: true,
  redis: true,
  store: true,
  key: true,
  tenant: true,
  tenantShare: true,
  retry: true,
  circuit: true,
  bulkhead: true,
  timeout: true,
  fallback: true,
  maxWaitMs: true,
  arrivalLagMs: true,
  tokenCounter: true,
  fetch: true,
  clock: true,
});

const LIMIT_KEYS = optionKeys<PipelineLimits>({ rpm: true, itpm: true, otpm: true, tpm: true });
const TIMEOUT_KEYS = optionKeys<PipelineTimeout>({ attemptMs: true, totalMs: true });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Refuses what cannot work, naming the option, the allowed range and the value. */
export function checkPipelineOptions(
  options: ProviderPolicyOptions,
  where: string,
  provider: PresetProvider,
): void {
  checkKnownKeys(options, KEYS, where, {
    required: true,
    aliases: { retries: 'retry', breaker: 'circuit', concurrency: 'bulkhead', rate: 'limits' },
  });
  const positive = (name: string, v: unknown, integer: boolean) => {
    if (v === undefined) return;
    if (
      typeof v !== 'number' ||
      !(v > 0) ||
      !Number.isFinite(v) ||
      (integer && !Number.isSafeInteger(v))
    ) {
      throw new InvalidConfigError(name, integer ? 'a positive integer' : 'a positive number', v);
    }
  };
  const share = (name: string, v: unknown) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
      throw new InvalidConfigError(name, 'a number in (0, 1]', v);
    }
  };
  if (options.limits !== undefined) {
    checkKnownKeys(options.limits, LIMIT_KEYS, where, { path: 'limits' });
    for (const k of LIMIT_KEYS)
      positive(`limits.${k}`, (options.limits as Record<string, unknown>)[k], true);
  }
  positive('periodMs', options.periodMs, false);
  share('utilization', options.utilization);
  share('tenantShare', options.tenantShare);
  if (
    options.maxWaitMs !== undefined &&
    !(typeof options.maxWaitMs === 'number' && options.maxWaitMs >= 0)
  ) {
    throw new InvalidConfigError('maxWaitMs', 'a number of ms >= 0', options.maxWaitMs);
  }
  if (
    options.arrivalLagMs !== undefined &&
    !(Number.isFinite(options.arrivalLagMs) && options.arrivalLagMs >= 0)
  ) {
    throw new InvalidConfigError(
      'arrivalLagMs',
      'a finite number of ms >= 0',
      options.arrivalLagMs,
    );
  }
  if (
    options.outputTokens !== undefined &&
    options.outputTokens !== 'max_tokens' &&
    options.outputTokens !== 'generated'
  ) {
    throw new InvalidConfigError(
      'outputTokens',
      "'max_tokens' or 'generated'",
      options.outputTokens,
    );
  }
  for (const name of ['key', 'tenant', 'model', 'tier'] as const) {
    const v = options[name];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) {
      throw new InvalidConfigError(name, 'a non-empty string', v);
    }
    // Budget key names are escaped with encodeURIComponent, which throws on these.
    if (typeof v === 'string' && LONE_SURROGATE.test(v)) {
      throw new InvalidConfigError(name, 'a well-formed string (no lone UTF-16 surrogate)', v);
    }
  }
  // Looked up now, model or not: without a model the tier would otherwise first be read at a call.
  if (typeof options.tier === 'string') schemeOfKnownTier(provider, options.tier);
  if (
    options.redis !== undefined &&
    options.store === undefined &&
    (typeof options.redis?.evalsha !== 'function' || typeof options.redis.duplicate !== 'function')
  ) {
    throw new InvalidConfigError('redis', 'an ioredis Redis or Cluster', options.redis);
  }
  if (options.tier === undefined && options.preset === undefined && options.limits === undefined) {
    throw new InvalidConfigError('tier', 'a tier (with model), a preset, or limits', undefined);
  }
  const timeout = resolveTimeout(options.timeout);
  if (typeof options.timeout === 'object' && options.timeout !== null) {
    checkKnownKeys(options.timeout, TIMEOUT_KEYS, where, { path: 'timeout' });
  }
  positive('timeout.attemptMs', timeout.attemptMs, false);
  positive('timeout.totalMs', timeout.totalMs, false);
  if (
    timeout.attemptMs !== undefined &&
    timeout.totalMs !== undefined &&
    timeout.attemptMs > timeout.totalMs
  ) {
    throw new InvalidConfigError(
      'timeout.attemptMs',
      `at most timeout.totalMs (${timeout.totalMs} ms): one attempt cannot outlast the call`,
      timeout.attemptMs,
    );
  }
  checkRetriesFit(options.retry, timeout);
  if (options.fallback !== undefined && options.fallback !== false) {
    const to = (options.fallback as PipelineFallback).to;
    if (typeof to !== 'function') {
      throw new InvalidConfigError('fallback.to', 'a function of the error', to);
    }
  }
}

/**
 * With a total timeout, the retries the user asked for must be able to happen inside it: not even
 * one retry fits when an attempt may use the whole total, when the first backoff's envelope is
 * the whole total, or when a honoured `retry-after` leaves no time for the attempt after it. Only
 * values the user gave are refused; `resolveRetry` bounds the defaults by the total instead.
 */
function checkRetriesFit(
  retry: ProviderPolicyOptions['retry'],
  { attemptMs, totalMs }: PipelineTimeout,
): void {
  if (totalMs === undefined || typeof retry !== 'object' || retry === null) return;
  const maxRetries = retry.maxRetries ?? PIPELINE_DEFAULTS.retry.maxRetries;
  // Retries off, or a wrong maxRetries: the retry stage's own check names it.
  if (!(typeof maxRetries === 'number' && maxRetries > 0)) return;
  const total = `timeout.totalMs (${totalMs} ms)`;
  if (retry.maxRetries !== undefined && attemptMs !== undefined && attemptMs >= totalMs) {
    throw new InvalidConfigError(
      'retry.maxRetries',
      `0, or timeout.attemptMs (${attemptMs} ms) below ${total}: an attempt may use the whole call, leaving no time for a retry`,
      retry.maxRetries,
    );
  }
  const atMostBelowTotal = (name: 'baseDelayMs' | 'maxRetryAfterMs', why: string) => {
    const v = retry[name];
    if (typeof v === 'number' && v >= totalMs) {
      throw new InvalidConfigError(`retry.${name}`, `less than ${total}: ${why}`, v);
    }
  };
  atMostBelowTotal('baseDelayMs', "the first retry's backoff could take the whole call");
  atMostBelowTotal(
    'maxRetryAfterMs',
    'a retry-after wait that long leaves no time for the attempt after it',
  );
}

/**
 * The retry stage's options: the user's over the pipeline's defaults, or undefined for
 * `retry: false`. With a total timeout, defaults the user did not set are bounded by it, so that
 * they fit as `checkRetriesFit` asks of the user's values: `maxRetryAfterMs` (60 s) to 1 ms under
 * the total (a longer `retry-after` is passed on at once, not waited out until the timeout), and
 * `baseDelayMs` (500 ms) to half the total.
 */
export function resolveRetry(
  options: ProviderPolicyOptions,
): Omit<RetryPolicyOptions, 'clock'> | undefined {
  if (options.retry === false) return undefined;
  const given = options.retry ?? {};
  const resolved = { ...PIPELINE_DEFAULTS.retry, ...given };
  const { totalMs } = resolveTimeout(options.timeout);
  if (totalMs === undefined) return resolved;
  return {
    ...resolved,
    ...(given.maxRetryAfterMs === undefined
      ? { maxRetryAfterMs: Math.min(RETRY_DEFAULTS.maxRetryAfterMs, Math.max(0, totalMs - 1)) }
      : {}),
    ...(given.baseDelayMs === undefined
      ? { baseDelayMs: Math.min(RETRY_DEFAULTS.baseDelayMs, totalMs / 2) }
      : {}),
  };
}

/** Where the pipeline's budgets live: `store`, a RedisBudgetStore over `redis`, or none (memory). */
export function resolveStore(options: ProviderPolicyOptions): BudgetStore | undefined {
  if (options.store) return options.store;
  if (options.redis === undefined) return undefined;
  return new RedisBudgetStore(
    options.redis as unknown as RedisBudgetClient,
    options.clock ? { clock: options.clock } : {},
  );
}

/** The timeout option as its two limits. */
export function resolveTimeout(timeout: ProviderPolicyOptions['timeout']): PipelineTimeout {
  if (timeout === undefined || timeout === false) return {};
  if (typeof timeout === 'number') return { totalMs: timeout };
  return timeout;
}
