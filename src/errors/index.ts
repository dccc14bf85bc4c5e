export {
  CostExceedsCapacityError,
  isCostExceedsCapacityError,
} from './cost-exceeds-capacity-error.js';
export { InvalidArgumentError, isInvalidArgumentError } from './invalid-argument-error.js';
export { InvalidConfigError, isInvalidConfigError } from './invalid-config-error.js';
export {
  InvalidLimiterConfigError,
  isInvalidLimiterConfigError,
} from './invalid-limiter-config-error.js';
export {
  isLimiterKeyConflictError,
  LimiterKeyConflictError,
} from './limiter-key-conflict-error.js';
export { isLimiterUnavailableError, LimiterUnavailableError } from './limiter-unavailable-error.js';
export { isLlmResilienceError, LlmResilienceError } from './llm-resilience-error.js';
export { isQuotaExhaustedError, QuotaExhaustedError } from './quota-exhausted-error.js';
export { isRateLimitExceededError, RateLimitExceededError } from './rate-limit-exceeded-error.js';
export { isStreamInterruptedError, StreamInterruptedError } from './stream-interrupted-error.js';
export { isStreamStartError, StreamStartError } from './stream-start-error.js';
export { isUnknownOptionError, UnknownOptionError } from './unknown-option-error.js';
