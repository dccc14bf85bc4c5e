/**
 * One decision for any thrown value: is it a transient provider failure (worth a retry, a breaker
 * count, a fallback), a rate limit, a quota/billing error, a client bug, a cancellation, or not a
 * provider error at all? Reads status, body `type`/`code` and headers by shape, so it works with
 * the error classes of @anthropic-ai/sdk (0.x, 1.x), openai (5–7), Google's SDKs and plain fetch
 * `Response` objects. Pure: no I/O, no clock.
 */
import { isLlmResilienceError } from '../errors/llm-resilience-error.js';
import { type ErrorShape, errorShape } from './error-shape.js';

/** Anthropic's `error.details.error_code` on the tier spend-cap 429. */
const SPEND_CAP_CODE = 'enforced_spend_limit_reached';

/**
 * What kind of failure a thrown value is.
 * - `rate-limit`: 429 (not a quota), Anthropic `rate_limit_error`, Gemini per-minute quota.
 * - `overloaded`: 529 / `overloaded_error` (the provider, not you, is overloaded).
 * - `server`: other 5xx.
 * - `timeout`: 408, SDK timeout errors, `TimeoutError`, cockatiel timeouts.
 * - `connection`: connection reset/refused, DNS, socket errors, SDK connection errors.
 * - `conflict`: 409 (transient lock contention).
 * - `quota`: billing and quota exhaustion (`insufficient_quota`, `billing_error`, 402, Anthropic's
 *   spend-cap 429 `enforced_spend_limit_reached`, Gemini per-day or zero quota, Anthropic's 400
 *   whose whole message is its "credit balance is too low" sentence): waiting minutes will not
 *   help; never retried, whatever `x-should-retry` says. `quotaResumeAt` gives the stated end.
 * - `client`: 4xx the caller must fix (400, 401, 403, 404, 413, 422, ...).
 * - `cancelled`: the caller aborted. A bare `AbortError` is a cancellation unless the caller's
 *   `signal`, passed in the context, is still live: then the SDK's own per-attempt timeout
 *   aborted the fetch, and it is a `timeout`.
 * - `circuit-open`: a circuit breaker refused the call without making it (cockatiel's
 *   `BrokenCircuitError`, `IsolatedCircuitError`): nothing reached the provider.
 * - `unknown`: not a provider error (TypeError, a bug, anything without an HTTP shape).
 */
export type ErrorKind =
  | 'rate-limit'
  | 'overloaded'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'conflict'
  | 'quota'
  | 'client'
  | 'cancelled'
  | 'circuit-open'
  | 'unknown';

/** The decision for one thrown value. */
export interface ErrorClassification {
  kind: ErrorKind;
  /** HTTP status when known. */
  status?: number;
  /**
   * Whether a retry may help: the kind is transient, unless the server's `x-should-retry` header
   * says otherwise (it wins where present; it never makes a cancellation retryable).
   */
  retryable: boolean;
  /** The kind alone is transient (rate limit, overload, 5xx, timeout, connection, 409). */
  transient: boolean;
  /**
   * A provider-side failure that should count against a circuit breaker: 5xx, 529, timeouts and
   * connection errors. Rate limits and client errors are not.
   */
  providerFailure: boolean;
  /** `true`/`false` when the server sent `x-should-retry`, else `undefined`. */
  shouldRetryHeader?: boolean;
}

const TRANSIENT: ReadonlySet<ErrorKind> = new Set([
  'rate-limit',
  'overloaded',
  'server',
  'timeout',
  'connection',
  'conflict',
]);
const PROVIDER_FAILURE: ReadonlySet<ErrorKind> = new Set([
  'overloaded',
  'server',
  'timeout',
  'connection',
]);

/** Body `type`/`code` values that mean billing or quota exhaustion (never retried). */
const BILLING_CODES: ReadonlySet<string> = new Set([
  'insufficient_quota',
  'billing_error',
  'billing_hard_limit_reached',
  'billing_not_active',
  'access_terminated',
  'account_deactivated',
  'quota_exceeded',
  // Anthropic's tier spend cap: a 429 `rate_limit_error` told apart by `details.error_code`.
  SPEND_CAP_CODE,
  // OpenAI quota 429s reported besides `insufficient_quota` (PROVIDERS.md §2.4).
  'credit_balance_exhausted',
  'organization_spend_limit_exceeded',
  'project_spend_limit_exceeded',
  'organization_usage_limit_exceeded',
]);

const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'econnreset',
  'econnrefused',
  'econnaborted',
  'epipe',
  'enotfound',
  'eai_again',
  'ehostunreach',
  'enetunreach',
  'enetdown',
  'und_err_socket',
  'und_err_closed',
  'und_err_connect_timeout',
  'und_err_headers_timeout',
  'und_err_body_timeout',
  'etimedout',
  'esockettimedout',
]);

type Bag = Record<string, unknown>;
const isBag = (v: unknown): v is Bag => typeof v === 'object' && v !== null;

/** What the caller knows that the error does not say. */
export interface ClassifyContext {
  /**
   * The signal the caller passed to the call. When it is still live, a bare `AbortError` came
   * from an abort the caller did not ask for (an SDK's per-attempt timeout, such as
   * `@google/genai`'s `httpOptions.timeout`): a `timeout`, retryable, not a cancellation.
   */
  readonly signal?: AbortSignal;
}

function kindFromName(error: unknown, context: ClassifyContext): ErrorKind | undefined {
  if (!isBag(error)) return undefined;
  const message = typeof error.message === 'string' ? error.message : '';
  // Some SDKs (openai) leave `name` as 'Error': fall back to the constructor's name.
  const names = [error.name, (error.constructor as { name?: unknown } | undefined)?.name];
  const is = (n: string) => names.includes(n);
  if (error.isTaskCancelledError === true || is('TaskCancelledError')) {
    return /timed out/i.test(message) ? 'timeout' : 'cancelled';
  }
  // The SDKs raise APIUserAbortError only for the caller's own signal.
  if (is('APIUserAbortError')) return 'cancelled';
  if (is('AbortError')) {
    return context.signal !== undefined && !context.signal.aborted ? 'timeout' : 'cancelled';
  }
  // cockatiel's brand (any installed copy); the names for errors rebuilt without it.
  if (
    error.isBrokenCircuitError === true ||
    is('BrokenCircuitError') ||
    is('IsolatedCircuitError')
  ) {
    return 'circuit-open';
  }
  if (is('APIConnectionTimeoutError') || is('TimeoutError')) return 'timeout';
  if (is('APIConnectionError') || is('FetchError')) return 'connection';
  return undefined;
}

/** Node and undici network errors, directly or as the `cause` of `TypeError: fetch failed`. */
function isNetworkError(error: unknown, depth = 0): boolean {
  if (!isBag(error) || depth > 3) return false;
  const code = typeof error.code === 'string' ? error.code.toLowerCase() : undefined;
  if (code !== undefined && CONNECTION_CODES.has(code)) return true;
  return isNetworkError(error.cause, depth + 1);
}

/** The QuotaFailure violations of Google RPC details. */
function violationsOf(details: Bag[]): Bag[] {
  const out: Bag[] = [];
  for (const d of details) {
    if (!Array.isArray(d.violations)) continue;
    for (const v of d.violations) if (isBag(v)) out.push(v);
  }
  return out;
}

/** A Gemini per-day quota violation (`...PerDay...` quota id or metric): gone until midnight PT. */
function isDailyViolation(v: Bag): boolean {
  const id = `${String(v.quotaId ?? '')} ${String(v.quotaMetric ?? '')}`;
  return /per.?day|daily/i.test(id);
}

/** A violated quota of value 0 (`quotaValue`): no wait will ever admit the request. */
function isZeroQuota(v: Bag): boolean {
  const value = v.quotaValue ?? v.quota_value;
  return value === 0 || value === '0';
}

function isDailyQuota(details: Bag[]): boolean {
  return violationsOf(details).some((v) => isDailyViolation(v) || isZeroQuota(v));
}

/**
 * Anthropic answers an exhausted prepaid balance with a plain 400 `invalid_request_error` whose
 * whole message is this fixed sentence. Only a message that starts with it counts: a 400 whose
 * message quotes it after other words (the caller's own text echoed back) is a client error.
 */
const CREDIT_TOO_LOW = /^Your credit balance is too low to access the (?:Anthropic|Claude) API\b/;

function isCreditTooLow(shape: ErrorShape): boolean {
  return (
    shape.codes.includes('invalid_request_error') &&
    shape.messages.some((m) => CREDIT_TOO_LOW.test(m))
  );
}

function kindFromStatus(status: number, shape: ErrorShape): ErrorKind {
  const { codes, details } = shape;
  if (codes.some((c) => BILLING_CODES.has(c)) || status === 402) return 'quota';
  if (status === 400 && isCreditTooLow(shape)) return 'quota';
  if (codes.includes('overloaded_error') || status === 529) return 'overloaded';
  if (status === 429) return isDailyQuota(details) ? 'quota' : 'rate-limit';
  if (codes.includes('rate_limit_error') || codes.includes('rate_limit_exceeded')) {
    return 'rate-limit';
  }
  if (status === 408) return 'timeout';
  if (status === 409) return 'conflict';
  if (status >= 500) return 'server';
  if (status >= 400) return 'client';
  return 'unknown';
}

/**
 * An error without an HTTP status that still carries a provider body: the SDKs' streaming code
 * throws these when an SSE `error` event arrives after the 200 (Anthropic `api_error`,
 * `overloaded_error`, `rate_limit_error`; OpenAI `server_error`). Client-side types stay unknown.
 */
function kindFromCodes(codes: string[]): ErrorKind {
  if (codes.some((c) => BILLING_CODES.has(c))) return 'quota';
  if (codes.includes('overloaded_error')) return 'overloaded';
  if (codes.includes('rate_limit_error') || codes.includes('rate_limit_exceeded')) {
    return 'rate-limit';
  }
  if (codes.includes('api_error') || codes.includes('server_error')) return 'server';
  if (codes.includes('timeout_error')) return 'timeout';
  return 'unknown';
}

function parseShouldRetry(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/**
 * Classifies any thrown value. Never throws. Reads the provider's structured fields (status,
 * `type`, `code`, `details`), never the words of a message, with one exception: Anthropic's
 * credit-balance 400, recognised only when its message is the API's fixed sentence.
 * `context.signal` (the caller's) tells an SDK's own timeout abort from the caller's.
 */
export function classifyError(error: unknown, context: ClassifyContext = {}): ErrorClassification {
  const shape = errorShape(error);
  let kind: ErrorKind;
  if (shape.status !== undefined) {
    kind = kindFromStatus(shape.status, shape);
  } else if (isLlmResilienceError(error)) {
    // Our own refusals (a wait past maxWaitMs, Redis unavailable, bad options) are not provider
    // errors: their codes (RATE_LIMIT_EXCEEDED) must not read as the provider's rate_limit_exceeded.
    kind = 'unknown';
  } else {
    kind = kindFromName(error, context) ?? (isNetworkError(error) ? 'connection' : 'unknown');
    if (kind === 'unknown') kind = kindFromCodes(shape.codes);
  }
  const transient = TRANSIENT.has(kind);
  const shouldRetryHeader = parseShouldRetry(shape.header('x-should-retry'));
  // Neither a cancellation nor an exhausted quota is retried, whatever the header says.
  const retryable =
    kind === 'cancelled' || kind === 'quota' ? false : (shouldRetryHeader ?? transient);
  const result: ErrorClassification = {
    kind,
    retryable,
    transient,
    providerFailure: PROVIDER_FAILURE.has(kind),
  };
  if (shape.status !== undefined) result.status = shape.status;
  if (shouldRetryHeader !== undefined) result.shouldRetryHeader = shouldRetryHeader;
  return result;
}

/**
 * A transient provider error: rate limit, overload, 5xx, timeout, connection error, 409. The
 * default whitelist of `fallbackPolicy` (with open circuits, limiter waits and full bulkheads).
 */
export function isTransientProviderError(error: unknown): boolean {
  return classifyError(error).transient;
}

/** Whether a retry may help (transient, or `x-should-retry: true`; never a cancellation). */
export function isRetryableError(error: unknown): boolean {
  return classifyError(error).retryable;
}

/** A provider-side failure (5xx, 529, timeout, connection): the breaker's default `isFailure`. */
export function isProviderFailure(error: unknown): boolean {
  return classifyError(error).providerFailure;
}

/** Why a quota error stops the budget, and until when the provider says it does. */
export interface QuotaStop {
  /**
   * - `spend-cap`: Anthropic's tier monthly spend cap (`enforced_spend_limit_reached`).
   * - `daily-quota`: a Gemini per-day quota (`PerDay` quota id), or a quota of 0.
   * - `billing`: any other quota or billing error (`insufficient_quota`, `billing_error`, 402,
   *   the credit balance): it lasts until someone pays, no time is stated.
   */
  readonly reason: 'spend-cap' | 'daily-quota' | 'billing';
  /** When requests may succeed again, ms since the epoch; absent when no time is stated. */
  readonly resumeAt?: number;
}

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12); Hinnant's algorithm. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The date of a day count since 1970-01-01 (inverse of `daysFromCivil`). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

const PACIFIC = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/** Pacific wall-clock time at `ms`, read as if it were UTC (so the difference is the offset). */
function pacificAsUtc(ms: number): number {
  const parts: Record<string, number> = {};
  for (const p of PACIFIC.formatToParts(ms))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const { year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  return daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000;
}

/** 00:00 UTC on the first of the month after `now`: when Anthropic's spend cap lifts. */
export function firstOfNextMonthUtc(now: number): number {
  const { year, month } = civilFromDays(Math.floor(now / DAY_MS));
  return daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) * DAY_MS;
}

/** The next midnight in America/Los_Angeles after `now`: when Gemini's per-day quotas reset. */
export function nextMidnightPacific(now: number): number {
  const localDay = Math.floor(pacificAsUtc(now) / DAY_MS);
  const midnightAsUtc = (localDay + 1) * DAY_MS;
  // Local midnight to an instant: add the offset in force then (twice, across a DST change).
  let guess = midnightAsUtc + (now - pacificAsUtc(now));
  guess = midnightAsUtc + (guess - pacificAsUtc(guess));
  return guess;
}

/**
 * For a `quota` error, why and until when the budget should stop sending; `undefined` for any
 * other error. The resume time is the one the provider documents for that error: the first of
 * next month 00:00 UTC for Anthropic's spend cap, the next midnight Pacific for a Gemini per-day
 * quota; none for a zero quota or a billing error. Pure: `now` is an argument.
 */
export function quotaStop(
  error: unknown,
  now: number,
  context: ClassifyContext = {},
): QuotaStop | undefined {
  if (classifyError(error, context).kind !== 'quota') return undefined;
  const shape = errorShape(error);
  if (shape.codes.includes(SPEND_CAP_CODE)) {
    return { reason: 'spend-cap', resumeAt: firstOfNextMonthUtc(now) };
  }
  const violations = violationsOf(shape.details);
  if (violations.some(isZeroQuota)) return { reason: 'daily-quota' };
  if (violations.some(isDailyViolation)) {
    return { reason: 'daily-quota', resumeAt: nextMidnightPacific(now) };
  }
  return { reason: 'billing' };
}

/**
 * When a `quota` error says requests may succeed again (ms since the epoch), or `undefined`
 * when it is not a quota error or states no time. See `quotaStop`.
 */
export function quotaResumeAt(error: unknown, now: number): number | undefined {
  return quotaStop(error, now)?.resumeAt;
}
