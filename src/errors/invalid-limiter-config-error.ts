import { InvalidConfigError, isInvalidConfigError } from './invalid-config-error.js';

/**
 * @deprecated Since 0.2 every configuration refusal, limiter options included, is an
 * `InvalidConfigError`; this is another name of that class, kept so that existing `catch` and
 * `instanceof` code keeps working. Its `code` is `'INVALID_CONFIG'`.
 */
export const InvalidLimiterConfigError = InvalidConfigError;
/** @deprecated use `InvalidConfigError`. */
export type InvalidLimiterConfigError = InvalidConfigError;

/** @deprecated use `isInvalidConfigError`. */
export const isInvalidLimiterConfigError = isInvalidConfigError;
