/**
 * A recorded demand as `llm-resilience plan --demand FILE` plans it: the demand recorder's report
 * (src/observability/demand-report.ts, docs/observability.md), read by its own parser and turned
 * into one traffic shape. Pure: parses text already read.
 */
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { type DemandReport, parseDemandReport } from '../observability/demand-report.js';
import type { TrafficShape } from './capacity-plan.js';

/** What a demand report gives the plan: the traffic at its p95 minute. */
export interface DemandTraffic {
  readonly traffic: TrafficShape;
  readonly provider?: string;
}

/**
 * The p95 calls per minute, each carrying the p95 prompt and output tokens per minute divided by
 * those calls, with the report's cache share. The p95 minutes of the three figures need not be
 * the same minute, so this sizes for a minute at least as busy as the busiest of each: on the
 * safe side. `maxTokens` (which the report does not hold) is the caller's. Throws
 * `InvalidConfigError` (from the report's parser, or for a report with no calls) naming the field.
 */
export function demandTraffic(text: string, maxTokens?: number): DemandTraffic {
  const report: DemandReport = parseDemandReport(text);
  const { rpm, inputTpm, otpm } = report.p95;
  if (!(rpm > 0)) {
    throw new InvalidConfigError('p95.rpm', 'a report with calls (p95 calls per minute > 0)', rpm);
  }
  const outputTokens = otpm / rpm;
  if (maxTokens !== undefined && maxTokens < outputTokens) {
    throw new InvalidConfigError(
      'maxTokens',
      `at least the output per call at the p95 minute (${Math.ceil(outputTokens)})`,
      maxTokens,
    );
  }
  return {
    traffic: {
      callsPerMinute: rpm,
      inputTokens: inputTpm / rpm,
      outputTokens,
      ...(maxTokens !== undefined && { maxTokens }),
      cacheReadShare: report.cacheShare,
    },
    ...(report.provider !== undefined && { provider: report.provider }),
  };
}
