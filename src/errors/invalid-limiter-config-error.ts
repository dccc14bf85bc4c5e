import { InvalidConfigError } from './invalid-config-error.js';
import { hasErrorCode } from './llm-resilience-error.js';

/** A limiter option (limit, period, burst, capacity, refill, cost...) was refused. */
export class InvalidLimiterConfigError extends InvalidConfigError {
  override readonly code = 'INVALID_LIMITER_CONFIG';
}

export const isInvalidLimiterConfigError =
  hasErrorCode<InvalidLimiterConfigError>('INVALID_LIMITER_CONFIG');
