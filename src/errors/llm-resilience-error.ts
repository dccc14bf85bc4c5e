/**
 * Base class of every error this library throws. Each subclass carries a stable `code` and a
 * brand, so `isLlmResilienceError()` and the per-class guards keep working when two copies of the
 * package are installed side by side (where `instanceof` would not).
 */
export abstract class LlmResilienceError extends Error {
  /** Stable machine-readable code, e.g. `'RATE_LIMIT_EXCEEDED'`. */
  abstract readonly code: string;
  /** Brand checked by the guards; survives duplicated installs. */
  readonly isLlmResilienceError = true as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function isLlmResilienceError(value: unknown): value is LlmResilienceError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { isLlmResilienceError?: unknown }).isLlmResilienceError === true
  );
}

/** Builds a guard that recognises an error by its stable code rather than by `instanceof`. */
export function hasErrorCode<T extends LlmResilienceError>(code: string) {
  return (value: unknown): value is T =>
    isLlmResilienceError(value) && (value as LlmResilienceError).code === code;
}
