import { InvalidConfigError } from './invalid-config-error.js';
import { hasErrorCode } from './llm-resilience-error.js';

/**
 * Two limiters on one key of one store with different limits (rate, burst or algorithm). A key is
 * one budget, kept in one state: read under two sets of limits it would admit by neither. Thrown
 * when the second limiter is made; give each budget its own key, or both limiters the same limits.
 */
export class LimiterKeyConflictError extends InvalidConfigError {
  override readonly code = 'LIMITER_KEY_CONFLICT';

  constructor(
    /** The key both limiters use. */
    readonly key: string,
    /** The limits of the limiter already on the key, e.g. `'gcra: 50 per 60000 ms, burst 5'`. */
    readonly existing: string,
    /** The limits of the limiter refused. */
    readonly requested: string,
  ) {
    super(
      'key',
      `a key whose limiters all have the same limits (it has ${existing})`,
      key,
      `Limiter key "${key}" is already used in this store with other limits (${existing}); this limiter has ${requested}. A key is one budget: give this one its own key, or the same limits`,
    );
  }
}

export const isLimiterKeyConflictError =
  hasErrorCode<LimiterKeyConflictError>('LIMITER_KEY_CONFLICT');
