/**
 * One decision for any thrown value: is it a transient provider failure (worth a retry, a breaker
 * count, a fallback), a rate limit, a quota/billing error, a client bug, a cancellation, or not a
 * provider error at all? Reads status, body `type`/`code` and headers by shape, so it works with
 * the error classes of @anthropic-ai/sdk (0.x, 1.x), openai (5–7), Google's SDKs and plain fetch
 * `Response` objects. Pure: no I/O, no clock.
 */
import { isLlmResilienceError } from '../errors/llm-resilience-error.js';
import { errorShape } from './error-shape.js';

/**
 * What kind of failure a thrown value is.
 * - `rate-limit`: 429 (not a quota), Anthropic `rate_limit_error`, Gemini per-minute quota.
 * - `overloaded`: 529 / `overloaded_error` (the provider, not you, is overloaded).
 * - `server`: other 5xx.
 * - `timeout`: 408, SDK timeout errors, `TimeoutError`, cockatiel timeouts.
 * - `connection`: connection reset/refused, DNS, socket errors, SDK connection errors.
 * - `conflict`: 409 (transient lock contention).
 * - `quota`: billing and quota exhaustion (`insufficient_quota`, `billing_error`, 402, Gemini
 *   per-day quota, Anthropic's 400 "credit balance is too low"): waiting minutes will not help.
 * - `client`: 4xx the caller must fix (400, 401, 403, 404, 413, 422, ...).
 * - `cancelled`: the caller aborted.
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

function kindFromName(error: unknown): ErrorKind | undefined {
  if (!isBag(error)) return undefined;
  const message = typeof error.message === 'string' ? error.message : '';
  // Some SDKs (openai) leave `name` as 'Error': fall back to the constructor's name.
  const names = [error.name, (error.constructor as { name?: unknown } | undefined)?.name];
  const is = (n: string) => names.includes(n);
  if (error.isTaskCancelledError === true || is('TaskCancelledError')) {
    return /timed out/i.test(message) ? 'timeout' : 'cancelled';
  }
  if (is('APIUserAbortError') || is('AbortError')) return 'cancelled';
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

function isDailyQuota(details: Bag[]): boolean {
  for (const d of details) {
    const violations = d.violations;
    if (!Array.isArray(violations)) continue;
    for (const v of violations) {
      if (!isBag(v)) continue;
      const id = `${String(v.quotaId ?? '')} ${String(v.quotaMetric ?? '')}`;
      if (/per.?day|daily/i.test(id)) return true;
    }
  }
  return false;
}

/** Anthropic answers an exhausted prepaid balance with a plain 400 invalid_request_error. */
const CREDIT_TOO_LOW = /credit balance is too low/i;

function kindFromStatus(
  status: number,
  codes: string[],
  details: Bag[],
  messages: string[],
): ErrorKind {
  if (codes.some((c) => BILLING_CODES.has(c)) || status === 402) return 'quota';
  if (status === 400 && messages.some((m) => CREDIT_TOO_LOW.test(m))) return 'quota';
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

/** Classifies any thrown value. Never throws. */
export function classifyError(error: unknown): ErrorClassification {
  const shape = errorShape(error);
  let kind: ErrorKind;
  if (shape.status !== undefined) {
    kind = kindFromStatus(shape.status, shape.codes, shape.details, shape.messages);
  } else if (isLlmResilienceError(error)) {
    // Our own refusals (a wait past maxWaitMs, Redis unavailable, bad options) are not provider
    // errors: their codes (RATE_LIMIT_EXCEEDED) must not read as the provider's rate_limit_exceeded.
    kind = 'unknown';
  } else {
    kind = kindFromName(error) ?? (isNetworkError(error) ? 'connection' : 'unknown');
    if (kind === 'unknown') kind = kindFromCodes(shape.codes);
  }
  const transient = TRANSIENT.has(kind);
  const shouldRetryHeader = parseShouldRetry(shape.header('x-should-retry'));
  const retryable = kind === 'cancelled' ? false : (shouldRetryHeader ?? transient);
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
