import { hasErrorCode, LlmResilienceError } from './llm-resilience-error.js';

/**
 * A single request costs more than the limiter can ever admit at once (its burst or capacity).
 * Waiting would never help, so this is thrown at once instead of an endless wait.
 */
export class CostExceedsCapacityError extends LlmResilienceError {
  readonly code = 'COST_EXCEEDS_CAPACITY';

  constructor(
    readonly key: string,
    readonly cost: number,
    readonly capacity: number,
  ) {
    super(
      `Cost ${cost} on "${key}" exceeds the limiter's capacity ${capacity}: it can never be admitted`,
    );
  }
}

export const isCostExceedsCapacityError =
  hasErrorCode<CostExceedsCapacityError>('COST_EXCEEDS_CAPACITY');
