/**
 * `llm-resilience/simulator`: an HTTP server that speaks the Anthropic Messages and OpenAI Chat
 * Completions wire formats with the providers' rate-limit semantics and injectable faults.
 */
export type { FaultKind, FaultOptions, ScriptStep } from './faults.js';
export { FAULT_KINDS } from './faults.js';
export type {
  BackgroundTraffic,
  LatencyModel,
  OutputCounting,
  PromptCacheOptions,
  RateDimension,
  SimulatedProvider,
  SimulatorLimits,
  SimulatorOptions,
} from './options.js';
export type { Simulator } from './server.js';
export { startSimulator } from './server.js';
export type { ClassStats, DimensionStats, SeriesPoint, SimulatorStats } from './stats.js';
export { countTokens } from './tokens.js';
