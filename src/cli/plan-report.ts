/**
 * What `llm-resilience plan` prints: the plan as one JSON object, or as text with a table. Pure
 * (strings out); the in-flight cap, the workers and the pipeline options are derived here.
 */
import Table from 'cli-table3';
import type { CapacityPlan, DimensionPlan, PlanDimension } from '../planning/capacity-plan.js';
import type { PlanRequest } from './commands/plan-args.js';

/** In flight per worker when `--workers` is not given: the pipelines' default bulkhead. */
export const DEFAULT_INFLIGHT_PER_WORKER = 20;

export interface PlanRecommendation {
  /** Calls in flight across every worker that carry the calls that fit (Little's law, rounded up). */
  readonly inFlightCap: number;
  readonly workers: number;
  /** The bulkhead's `maxConcurrent` in each worker. */
  readonly maxConcurrentPerWorker: number;
  /** Options for the provider's pipeline; absent for a provider with none (Gemini). */
  readonly options?: Record<string, unknown>;
  /** `anthropicPolicy({ ... })` to paste. */
  readonly snippet?: string;
}

export interface PlanReport extends CapacityPlan {
  readonly provider: string;
  readonly preset?: {
    readonly scheme: string;
    readonly tier: string;
    readonly modelClass: string;
    readonly asOf: string;
    readonly source: string;
  };
  readonly model?: string;
  readonly counting: PlanRequest['counting'];
  readonly traffic: PlanRequest['traffic'];
  readonly latencySource: PlanRequest['latencySource'];
  readonly demandFile?: string;
  /** Absent when not even one call fits. */
  readonly recommended?: PlanRecommendation;
  readonly notes: readonly string[];
}

/** The pipelines meter these per-minute dimensions (day caps are not theirs). */
const PIPELINE_DIMENSIONS: Readonly<Record<string, readonly PlanDimension[]>> = {
  anthropic: ['rpm', 'itpm', 'otpm'],
  openai: ['rpm', 'tpm'],
};

export function buildReport(request: PlanRequest, plan: CapacityPlan): PlanReport {
  const { preset } = request;
  const notes: string[] = [];
  const binding = plan.dimensions.find((d) => d.name === plan.binding)!;
  if (plan.maxCallsPerMinute === 0) {
    notes.push(
      `One call needs ${fmt(binding.atStart)} ${binding.name} at its start, above the ${fmt(binding.budget)} the limit allows: shorten the calls or raise the limit.`,
    );
  } else if (!plan.fits) {
    notes.push(
      `The traffic needs ${fmt(binding.limitedBy === 'rate' ? binding.used : plan.callsPerMinute / plan.maxCallsPerMinute, 2)}x what ${plan.binding} allows: a higher tier, shorter prompts or outputs, or fewer calls.`,
    );
  }
  if (binding.limitedBy === 'in-flight') {
    notes.push(
      `${binding.name} is bound by the max_tokens held by calls in flight (${fmt(binding.atStart)} charged at the start against ${fmt(binding.perCall)} counted): a max_tokens closer to the real output lets more calls through.`,
    );
  }
  if (request.counting.outputTokens === 'max_tokens' && request.traffic.maxTokens === undefined) {
    notes.push(
      'No max_tokens given: planned as if it equalled the output. The provider charges max_tokens when a call starts; pass max_tokens= to plan with it.',
    );
  }
  const dayCaps = plan.dimensions.filter((d) => d.period === 'day').map((d) => d.name);
  if (dayCaps.length > 0) {
    notes.push(
      `${dayCaps.join(', ')}: a per-day cap, planned as if the traffic ran all day; the pipelines do not meter it.`,
    );
  }
  if (request.latencySource === 'default') {
    notes.push(
      'Latency is a default (1,000 ms + 20 ms per output token); pass --latency-ms with your p95 for the in-flight figures.',
    );
  }
  const recommended = plan.maxCallsPerMinute === 0 ? undefined : recommend(request, plan);
  return {
    provider: request.provider,
    ...(preset !== undefined && {
      preset: {
        scheme: preset.scheme,
        tier: preset.tier,
        modelClass: preset.modelClass,
        asOf: preset.asOf,
        source: preset.source,
      },
    }),
    ...(request.model !== undefined && { model: request.model }),
    counting: request.counting,
    traffic: request.traffic,
    latencySource: request.latencySource,
    ...(request.demandFile !== undefined && { demandFile: request.demandFile }),
    ...plan,
    inFlight: { atDemand: round2(plan.inFlight.atDemand), atMax: round2(plan.inFlight.atMax) },
    ...(recommended !== undefined && { recommended }),
    notes,
  };
}

function recommend(request: PlanRequest, plan: CapacityPlan): PlanRecommendation {
  const target = Math.min(plan.callsPerMinute, plan.maxCallsPerMinute);
  const inFlightCap = Math.max(1, Math.ceil((target * plan.latencyMs) / 60_000 - 1e-9));
  const workers = request.workers ?? Math.ceil(inFlightCap / DEFAULT_INFLIGHT_PER_WORKER);
  const maxConcurrentPerWorker = Math.max(1, Math.ceil(inFlightCap / workers));
  const dims = PIPELINE_DIMENSIONS[request.provider];
  if (dims === undefined) return { inFlightCap, workers, maxConcurrentPerWorker };

  const options: Record<string, unknown> = {};
  if (request.preset !== undefined) {
    options.tier = request.tier;
    options.model = request.model;
  } else if (request.model !== undefined) {
    options.model = request.model;
  }
  const limits: Record<string, number> = {};
  for (const name of dims) {
    const value = request.explicitLimits[name];
    if (value !== undefined) limits[name] = value;
  }
  if (Object.keys(limits).length > 0) options.limits = limits;
  const presetRule = request.preset?.outputTokens;
  const pipelineDefault = presetRule ?? 'max_tokens';
  if (
    request.counting.outputTokens !== 'none' &&
    request.counting.outputTokens !== pipelineDefault
  ) {
    options.outputTokens = request.counting.outputTokens;
  }
  if (plan.utilization < 1) options.utilization = plan.utilization;
  options.bulkhead = { maxConcurrent: maxConcurrentPerWorker };
  const factory = request.provider === 'openai' ? 'openaiPolicy' : 'anthropicPolicy';
  const comment =
    workers > 1
      ? `// in each of ${workers} workers, each given the same \`redis\` and \`key\` to share one budget\n`
      : '';
  return {
    inFlightCap,
    workers,
    maxConcurrentPerWorker,
    options,
    snippet: `${comment}${factory}(${tsLiteral(options, '')})`,
  };
}

/** A value as TypeScript source: single quotes, unquoted keys, numbers with `_` separators. */
export function tsLiteral(value: unknown, indent: string): string {
  if (typeof value === 'string')
    return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (typeof value === 'number') {
    return Number.isInteger(value) && Math.abs(value) >= 1000
      ? String(value).replace(/\B(?=(\d{3})+(?!\d))/g, '_')
      : String(value);
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const flat = entries.every(([, v]) => typeof v !== 'object' || v === null);
    if (flat && entries.length <= 3) {
      return `{ ${entries.map(([k, v]) => `${k}: ${tsLiteral(v, indent)}`).join(', ')} }`;
    }
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${k}: ${tsLiteral(v, inner)},`).join('\n')}\n${indent}}`;
  }
  return String(value);
}

export function reportJson(report: PlanReport): string {
  return JSON.stringify(report, null, 2);
}

export function reportText(report: PlanReport): string {
  const lines: string[] = [];
  const { preset, traffic, counting } = report;
  const against =
    preset !== undefined
      ? `${report.provider} ${preset.tier} ${preset.modelClass} (${preset.scheme}, as of ${preset.asOf})`
      : `${report.provider} limits`;
  lines.push(`Plan for ${against}`);
  const cacheRule = counting.countsCacheReads ? 'cache reads count' : 'cache reads do not count';
  lines.push(
    `Counting: output as ${counting.outputTokens === 'none' ? 'not metered' : counting.outputTokens}; ${cacheRule} toward input limits`,
  );
  const perCall = [
    `${fmt(traffic.inputTokens)} input`,
    `${fmt(traffic.outputTokens)} output tokens per call`,
    ...(traffic.maxTokens !== undefined ? [`max_tokens ${fmt(traffic.maxTokens)}`] : []),
    ...(traffic.cacheReadShare !== undefined
      ? [`${fmt(traffic.cacheReadShare * 100)}% of input from the cache`]
      : []),
  ];
  const from = report.demandFile !== undefined ? ` (p95 minute of ${report.demandFile})` : '';
  lines.push(`Traffic: ${fmt(report.callsPerMinute)} calls/min${from}, ${perCall.join(', ')}`);
  lines.push(`Latency: ${fmt(report.latencyMs)} ms per call (${report.latencySource})`);
  if (report.utilization < 1)
    lines.push(`Utilization: ${fmt(report.utilization * 100)}% of each limit`);
  lines.push('');

  const table = new Table({
    head: ['limit', 'per', 'value', 'per call', 'needed', 'headroom', 'used', 'max calls/min'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [], compact: true },
  });
  for (const d of report.dimensions) {
    table.push([
      d.name,
      d.period,
      fmt(d.budget),
      d.atStart === d.perCall ? fmt(d.perCall) : `${fmt(d.perCall)} (${fmt(d.atStart)} at start)`,
      fmt(d.demand),
      `${d.headroom >= 0 ? '+' : ''}${fmt(d.headroom)}`,
      `${fmt(d.used * 100, 1)}%${d.used > 1 ? ' ✗' : ''}`,
      d.maxCallsPerMinute === null ? 'no limit' : `${fmt(d.maxCallsPerMinute)}${mark(d)}`,
    ]);
  }
  lines.push(table.toString());
  lines.push('');
  const verdict = report.fits
    ? `${fmt(report.callsPerMinute)} wanted: fits`
    : `${fmt(report.callsPerMinute)} wanted: does NOT fit`;
  lines.push(
    `Binding: ${report.binding} (at most ${fmt(report.maxCallsPerMinute)} calls/min; ${verdict})`,
  );
  const rec = report.recommended;
  if (rec !== undefined) {
    const target = Math.min(report.callsPerMinute, report.maxCallsPerMinute);
    lines.push(
      `In flight: ${fmt((target * report.latencyMs) / 60_000, 1)} on average at ${fmt(target)} calls/min × ${fmt(report.latencyMs / 1000, 1)} s (Little's law): cap ${rec.inFlightCap}, ${rec.workers} worker${rec.workers === 1 ? '' : 's'} × ${rec.maxConcurrentPerWorker}`,
    );
    if (rec.snippet !== undefined) {
      lines.push('', 'Pipeline options:', indentBlock(rec.snippet, '  '));
    } else {
      lines.push('', `No ${report.provider} pipeline yet: use limiterGroup() with these limits.`);
    }
  }
  if (report.notes.length > 0) {
    lines.push('', ...report.notes.map((n) => `Note: ${n}`));
  }
  return lines.join('\n');
}

function mark(d: DimensionPlan): string {
  if (d.limitedBy === 'in-flight') return ' (in flight)';
  if (d.limitedBy === 'one-call') return ' (one call too big)';
  return '';
}

function indentBlock(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A number for people: thousands separators, at most `digits` decimals. */
function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}
