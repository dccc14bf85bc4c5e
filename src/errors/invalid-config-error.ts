import { isLlmResilienceError, LlmResilienceError } from './llm-resilience-error.js';

/**
 * Input the library refuses before doing anything: an option at construction, or an argument of
 * a call, that can never work. The message names the option, the accepted range and the value
 * received. It is the one configuration error to catch; the more specific refusals extend it:
 *
 * - `InvalidConfigError` (`INVALID_CONFIG`): an option out of range, or options that together
 *   can never admit a call (the message names both).
 *   - `UnknownOptionError` (`UNKNOWN_OPTION`): an option key the factory does not know, with the
 *     nearest known one (`bursts` → `burst`).
 *   - `InvalidArgumentError` (`INVALID_ARGUMENT`): an argument of a call (`acquire(-1)`'s
 *     `cost`), not an option.
 *   - `LimiterKeyConflictError` (`LIMITER_KEY_CONFLICT`): two limiters with one key and different
 *     limits on one store.
 *
 * `isInvalidConfigError()` recognises all of them (by a brand, so across two installed copies of
 * the package too). `InvalidLimiterConfigError` is a deprecated name of this class.
 */
export class InvalidConfigError extends LlmResilienceError {
  readonly code: string = 'INVALID_CONFIG';
  /** Brand checked by `isInvalidConfigError`; carried by every subclass. */
  readonly isInvalidConfigError = true as const;

  constructor(
    /** Name of the offending option, e.g. `'limit'` (dotted when nested: `'sampling.threshold'`). */
    readonly option: string,
    /** What the option accepts, e.g. `'a positive finite number'`. */
    readonly expected: string,
    /** The value received. */
    readonly received: unknown,
    /** The whole message, when the standard one does not fit (a subclass's wording). */
    message?: string,
  ) {
    super(
      message ??
        `Invalid option \`${option}\`: expected ${expected}, received ${describeValue(received)}`,
    );
  }
}

/** Any refusal of configuration or arguments: `InvalidConfigError` or one of its subclasses. */
export function isInvalidConfigError(value: unknown): value is InvalidConfigError {
  return (
    isLlmResilienceError(value) &&
    (value as { isInvalidConfigError?: unknown }).isInvalidConfigError === true
  );
}

/** A value as it reads in a message: strings quoted and cut, objects by their type. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
