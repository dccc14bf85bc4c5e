/**
 * `llm-resilience/providers`: provider adapters for pipelines that see the SDK's HTTP traffic:
 * what a request asks for, input-token estimates, usage from JSON bodies and SSE streams, and the
 * rate-limit headers.
 */
export type { EstimateCalibrationOptions } from './estimate-calibration.js';
export { ESTIMATE_CALIBRATION_DEFAULTS, EstimateCalibration } from './estimate-calibration.js';
export type { ImageSize, OpenaiImageDetail } from './image-tokens.js';
export {
  ANTHROPIC_MAX_IMAGE_TOKENS,
  anthropicImageTokens,
  imageSizeFromBase64,
  openaiImageTokens,
} from './image-tokens.js';
export { estimateAnthropicInput, estimateOpenaiInput, PDF_PAGE_TOKENS } from './prompt-tokens.js';
export type {
  HeadersLike,
  RateLimitDimension,
  RateLimitDimensionName,
  RateLimitHeaders,
} from './rate-limit-headers.js';
export { readRateLimitHeaders } from './rate-limit-headers.js';
export type { DescribeOptions, RequestDescription, RequestKind } from './request.js';
export { describeRequest, OPENAI_DEFAULT_MAX_TOKENS, withStreamUsage } from './request.js';
export type { SseBlock } from './sse-decoder.js';
export { SseDecoder } from './sse-decoder.js';
export type { StreamUsageOptions, StreamUsageState } from './stream-usage.js';
export { StreamUsageTracker } from './stream-usage.js';
export type { StreamEnd, StreamOutcome, TapUsageOptions } from './tap-usage.js';
export { tapUsage } from './tap-usage.js';
export type { TextTokenProfile, TokenCounter } from './text-tokens.js';
export {
  ANTHROPIC_PROFILE,
  anthropicTokenEstimator,
  CL100K_PROFILE,
  cl100kTokenEstimator,
  estimateTextTokens,
  measureTextTokens,
  O200K_PROFILE,
  openaiEstimatorFor,
  openaiTokenEstimator,
  profileCounter,
} from './text-tokens.js';
export type { Provider, Usage, UsageOptions } from './usage.js';
export { usageFromJson } from './usage.js';
