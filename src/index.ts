export { wrap } from 'cockatiel';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export * from './errors/index.js';
export { reportError, SafeEventEmitter } from './events/safe-event-emitter.js';
export * from './limiter/index.js';

// ---- Resilience policies (issue #5): classification, retry, circuit, bulkhead, fallback ----

export {
  BrokenCircuitError,
  BulkheadRejectedError,
  IsolatedCircuitError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
} from 'cockatiel';
export * from '../policies/index.js';
export type {
  CircuitBreakerPolicyOptions,
  CircuitSamplingOptions,
  SharedCircuitOptions,
} from './circuit/circuit-breaker-policy.js';
export {
  CIRCUIT_DEFAULTS,
  CircuitBreakerPolicy,
  circuitBreakerPolicy,
} from './circuit/circuit-breaker-policy.js';
export type {
  CircuitFailure,
  CircuitSnapshot,
  CircuitStateName,
} from './circuit/circuit-snapshot.js';
export { describeFailure, scrubSecrets } from './circuit/circuit-snapshot.js';
export type {
  BulkheadPolicyOptions,
  BulkheadRejectEvent,
  BulkheadSnapshot,
} from './concurrency/bulkhead-policy.js';
export {
  BULKHEAD_DEFAULTS,
  BulkheadPolicy,
  bulkheadPolicy,
} from './concurrency/bulkhead-policy.js';
export type { RedisSemaphoreOptions } from './concurrency/redis-semaphore.js';
export { RedisSemaphore } from './concurrency/redis-semaphore.js';
export type { FallbackEvent, FallbackPolicyOptions } from './fallback/fallback-policy.js';
export { FallbackPolicy, fallbackPolicy, shouldFallback } from './fallback/fallback-policy.js';
export type {
  ClassifyContext,
  ErrorClassification,
  ErrorKind,
  QuotaStop,
} from './providers/classify.js';
export {
  classifyError,
  isProviderFailure,
  isRetryableError,
  isTransientProviderError,
  quotaResumeAt,
  quotaStop,
} from './providers/classify.js';
export type { FullJitterBackoff, FullJitterParams } from './retry/backoff.js';
export { fullJitterBackoff, fullJitterDelay } from './retry/backoff.js';
export type { RetryAdvice, RetryAdviceSource } from './retry/retry-after.js';
export { retryAdvice, retryAdviceFromHeaders } from './retry/retry-after.js';
export type {
  MemoryRetryBudgetOptions,
  RedisRetryBudgetOptions,
  RetryBudget,
  RetryBudgetOptions,
  RetryBudgetSnapshot,
} from './retry/retry-budget.js';
export {
  MemoryRetryBudget,
  RETRY_BUDGET_DEFAULTS,
  RedisRetryBudget,
} from './retry/retry-budget.js';
export type {
  GiveUpEvent,
  GiveUpReason,
  RetryEvent,
  RetryPolicyOptions,
  RetrySnapshot,
} from './retry/retry-policy.js';
export { RETRY_DEFAULTS, RetryPolicy, retryPolicy } from './retry/retry-policy.js';

// ---- Provider pipelines (issue #10) ----

export type {
  BudgetDecision,
  BudgetDimension,
  BudgetDimensionSnapshot,
  BudgetOptions,
} from './limiter/budget.js';
export { Budget } from './limiter/budget.js';
export { BudgetPermit } from './limiter/budget-permit.js';
export type { BudgetStore } from './limiter/budget-store.js';
export type { DimensionName, ProviderName } from './pipeline/accounting.js';
export { anthropicPolicy } from './pipeline/anthropic-policy.js';
export type {
  HoldEvent,
  SettleEvent,
  ThrottleEvent as PipelineThrottleEvent,
} from './pipeline/budgeted-fetch.js';
export { openaiPolicy } from './pipeline/openai-policy.js';
export type {
  PipelineFallback,
  PipelineLimits,
  PipelineTimeout,
  ProviderPolicyOptions,
} from './pipeline/pipeline-options.js';
export { PIPELINE_DEFAULTS } from './pipeline/pipeline-options.js';
export type { FeedbackSnapshot, LimitChangeEvent } from './pipeline/provider-feedback.js';
export type { PipelineSnapshot, UnseenEvent } from './pipeline/provider-policy.js';
export { ProviderPolicy } from './pipeline/provider-policy.js';
export { MemoryBudgetStore } from './stores/memory-budget-store.js';

// ---- Observability (issue #13): OpenTelemetry metrics and the demand recorder ----

export type {
  DemandRecorderOptions,
  DemandSample,
  SettleSource,
} from './observability/demand-recorder.js';
export {
  DEMAND_DEFAULTS,
  DemandRecorder,
  demandRecorder,
} from './observability/demand-recorder.js';
export type { DemandRates, DemandReport, DemandWindow } from './observability/demand-report.js';
export { parseDemandReport } from './observability/demand-report.js';
export type { Instrumentation, InstrumentOptions } from './observability/instrument.js';
export { instrument, METER_NAME } from './observability/instrument.js';
export type { MeterLike, MeterProviderLike, MetricAttributes } from './observability/meter.js';
export {
  type RedisBudgetOperation,
  RedisBudgetStore,
  type RedisBudgetStoreOptions,
  type RedisBudgetUnavailableEvent,
} from './stores/redis/redis-budget-store.js';
