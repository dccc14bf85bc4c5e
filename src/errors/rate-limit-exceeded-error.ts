import { hasErrorCode, LlmResilienceError } from './llm-resilience-error.js';

/**
 * The wait for a limiter slot would exceed `maxWaitMs`. Nothing was consumed; retrying after
 * `retryAfterMs` has a fair chance of an immediate slot.
 */
export class RateLimitExceededError extends LlmResilienceError {
  readonly code = 'RATE_LIMIT_EXCEEDED';

  constructor(
    /** Key of the limiter whose wait was too long (in a group, the one with the longest wait). */
    readonly key: string,
    /** How long the caller would have had to wait, in ms. */
    readonly retryAfterMs: number,
    /** The caller's bound, in ms. */
    readonly maxWaitMs: number,
  ) {
    super(
      `Rate limit on "${key}": the next slot is ${Math.ceil(retryAfterMs)} ms away, above maxWaitMs ${maxWaitMs} ms`,
    );
  }
}

export const isRateLimitExceededError = hasErrorCode<RateLimitExceededError>('RATE_LIMIT_EXCEEDED');
