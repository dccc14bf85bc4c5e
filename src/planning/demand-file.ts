/**
 * The recorded demand that `llm-resilience plan --demand FILE` reads: a roll-up of real calls
 * (docs/cli.md has the schema for recorders). Pure: parses an already-read JSON value.
 */
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import type { TrafficShape } from './capacity-plan.js';

/** p50 and p95 of a per-minute figure over the recording. */
export interface Percentiles {
  readonly p50?: number;
  readonly p95: number;
}

/** Version 1 of the demand file. Counts are per minute unless named otherwise. */
export interface DemandRecord {
  readonly version: 1;
  /** The provider the calls went to (`anthropic`, `openai`, `gemini`). */
  readonly provider?: string;
  /** The model most calls used; `plan` takes it as `--model` when that is not given. */
  readonly model?: string;
  /** ISO times of the first and last minute recorded. */
  readonly from?: string;
  readonly to?: string;
  /** Calls recorded in all. */
  readonly calls?: number;
  /** Calls per minute. */
  readonly callsPerMinute: Percentiles;
  /** Input tokens per minute: the whole prompts, cache reads and writes included. */
  readonly inputTokensPerMinute: Percentiles;
  /** Output tokens generated per minute. */
  readonly outputTokensPerMinute: Percentiles;
  /** `cache_read_input_tokens` / all input tokens, over the recording. @default 0 */
  readonly cacheReadShare?: number;
  /** Mean `max_tokens` per call. @default the output per call */
  readonly maxTokensPerCall?: number;
  /** Time per call, start to end, in ms. */
  readonly latencyMs?: Percentiles;
}

/** What a demand record gives the plan: the traffic at its p95 minute, and its p95 latency. */
export interface DemandTraffic {
  readonly traffic: TrafficShape;
  readonly latencyMs?: number;
  readonly provider?: string;
  readonly model?: string;
}

/**
 * Checks a parsed demand file and turns it into a traffic shape: the p95 calls per minute, each
 * carrying the p95 input and output per minute divided by those calls. The p95 minutes of the
 * three figures need not be the same minute, so this sizes for a minute at least as busy as the
 * busiest of each: on the safe side. Throws `InvalidConfigError` naming the field.
 */
export function demandTraffic(value: unknown): DemandTraffic {
  const record = object(value, '');
  if (record.version !== 1) throw new InvalidConfigError('version', '1', record.version);
  const calls = percentiles(record.callsPerMinute, 'callsPerMinute');
  const input = percentiles(record.inputTokensPerMinute, 'inputTokensPerMinute');
  const output = percentiles(record.outputTokensPerMinute, 'outputTokensPerMinute');
  if (!(calls.p95 > 0)) {
    throw new InvalidConfigError('callsPerMinute.p95', 'a number > 0', calls.p95);
  }
  const cacheReadShare = optionalNumber(record.cacheReadShare, 'cacheReadShare');
  if (cacheReadShare !== undefined && cacheReadShare > 1) {
    throw new InvalidConfigError('cacheReadShare', 'a share in [0, 1]', cacheReadShare);
  }
  const maxTokens = optionalNumber(record.maxTokensPerCall, 'maxTokensPerCall');
  const latency =
    record.latencyMs === undefined ? undefined : percentiles(record.latencyMs, 'latencyMs');
  const outputPerCall = output.p95 / calls.p95;
  if (maxTokens !== undefined && maxTokens < outputPerCall) {
    throw new InvalidConfigError(
      'maxTokensPerCall',
      `at least the output per call at the p95 minute (${round(outputPerCall)})`,
      maxTokens,
    );
  }
  return {
    traffic: {
      callsPerMinute: calls.p95,
      inputTokens: input.p95 / calls.p95,
      outputTokens: outputPerCall,
      ...(maxTokens !== undefined && { maxTokens }),
      ...(cacheReadShare !== undefined && { cacheReadShare }),
    },
    ...(latency !== undefined && { latencyMs: latency.p95 }),
    ...(typeof record.provider === 'string' && { provider: record.provider }),
    ...(typeof record.model === 'string' && { model: record.model }),
  };
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(field || 'demand', 'an object', value);
  }
  return value as Record<string, unknown>;
}

function percentiles(value: unknown, field: string): Percentiles {
  const o = object(value, field);
  const p95 = optionalNumber(o.p95, `${field}.p95`);
  if (p95 === undefined) throw new InvalidConfigError(`${field}.p95`, 'a number >= 0', o.p95);
  const p50 = optionalNumber(o.p50, `${field}.p50`);
  return p50 === undefined ? { p95 } : { p50, p95 };
}

function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidConfigError(field, 'a finite number >= 0', value);
  }
  return value;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
