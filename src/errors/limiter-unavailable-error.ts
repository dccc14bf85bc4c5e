import { hasErrorCode, LlmResilienceError } from './llm-resilience-error.js';

/** The limiter's store (Redis) did not answer in time and the store is configured fail-closed. */
export class LimiterUnavailableError extends LlmResilienceError {
  readonly code = 'LIMITER_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const isLimiterUnavailableError =
  hasErrorCode<LimiterUnavailableError>('LIMITER_UNAVAILABLE');
