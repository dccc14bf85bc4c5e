import { hasErrorCode, LlmResilienceError } from './llm-resilience-error.js';

/**
 * An option was refused at construction time. The message names the option, the accepted range
 * and the value received.
 */
export class InvalidConfigError extends LlmResilienceError {
  readonly code: string = 'INVALID_CONFIG';

  constructor(
    /** Name of the offending option, e.g. `'limit'`. */
    readonly option: string,
    /** What the option accepts, e.g. `'a positive finite number'`. */
    readonly expected: string,
    /** The value received. */
    readonly received: unknown,
  ) {
    super(`Invalid option \`${option}\`: expected ${expected}, received ${describe(received)}`);
  }
}

export const isInvalidConfigError = hasErrorCode<InvalidConfigError>('INVALID_CONFIG');

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value === undefined || value === null) return String(value);
  return typeof value;
}
