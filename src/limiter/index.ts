export type { RedisScriptClient } from '../redis/eval-script.js';
export { MemoryStore } from '../stores/memory-store.js';
export { encodeKeyName, redisKey } from '../stores/redis/redis-keys.js';
export {
  type OnUnavailable,
  type RedisRecoveredEvent,
  type RedisReserveOutcome,
  RedisStore,
  type RedisStoreOperation,
  type RedisStoreOptions,
  type RedisUnavailableEvent,
} from '../stores/redis/redis-store.js';
export type { AlgorithmName } from './algorithms.js';
export {
  type GcraOptions,
  gcra,
  limiterGroup,
  type TokenBucketOptions,
  tokenBucket,
} from './factories.js';
export {
  type AcquireOptions,
  type Acquirer,
  type Cost,
  type Decision,
  Limiter,
  type LimiterBaseOptions,
  type LimiterSnapshot,
} from './limiter.js';
export { LimiterGroup } from './limiter-group.js';
export { Permit } from './permit.js';
export {
  RateLimitPolicy,
  type RateLimitPolicyOptions,
  rateLimitPolicy,
  type ThrottleEvent,
} from './rate-limit-policy.js';
export type { Grant, LimiterSpec, Look, ReserveOutcome, Store } from './store.js';
