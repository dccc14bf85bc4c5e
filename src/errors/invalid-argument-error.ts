import { describeValue, InvalidConfigError } from './invalid-config-error.js';
import { hasErrorCode } from './llm-resilience-error.js';

/**
 * An argument of a call was refused (`acquire(-1)`'s `cost`, `holdFor(NaN)`'s `delayMs`): the
 * message names the argument and the call, the accepted range and the value. A subclass of
 * `InvalidConfigError`, so one `catch` covers every input the library refuses.
 */
export class InvalidArgumentError extends InvalidConfigError {
  override readonly code = 'INVALID_ARGUMENT';

  constructor(
    /** Name of the argument, e.g. `'cost'` (also in `option`, for code that reads that). */
    readonly argument: string,
    expected: string,
    received: unknown,
    /** The call, e.g. `'acquire()'`. */
    readonly where: string,
  ) {
    super(
      argument,
      expected,
      received,
      `Invalid argument \`${argument}\` of ${where}: expected ${expected}, received ${describeValue(received)}`,
    );
  }
}

export const isInvalidArgumentError = hasErrorCode<InvalidArgumentError>('INVALID_ARGUMENT');
