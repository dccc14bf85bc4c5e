/**
 * What `simulate` writes: the summary table (cli-table3), the figures as JSON, and the chart
 * (Observable Plot, rendered to SVG on linkedom's DOM: no browser needed).
 */
import type { PlotOptions } from '@observablehq/plot';
import type { Scenario } from './args.js';
import type { ChartBin, QuotaDimension } from './measure.js';
import type { StrategyResult, StrategyRunOutput } from './run.js';
import { importPeer, MissingPackageError } from './traffic.js';

/** The JSON of a run: bench-results/goodput.json's shape. */
export interface SimulateReport {
  readonly scenario: string;
  readonly provider: Scenario['provider'];
  readonly model: string;
  /** The provider's real quota per period. */
  readonly quota: Scenario['quota'];
  readonly periodMs: number;
  /** The strategies were configured at quota × this. */
  readonly limitFactor: number;
  readonly workers: number;
  readonly inFlightPerWorker: number;
  readonly durationS: number;
  readonly traffic: Scenario['traffic'];
  readonly redis: boolean;
  readonly strategies: readonly StrategyResult[];
}

export function reportOf(
  scenarioName: string,
  scenario: Scenario,
  redis: boolean,
  outputs: readonly StrategyRunOutput[],
): SimulateReport {
  return {
    scenario: scenarioName,
    provider: scenario.provider,
    model: scenario.model,
    quota: scenario.quota,
    periodMs: scenario.periodMs,
    limitFactor: scenario.limitFactor,
    workers: scenario.workers,
    inFlightPerWorker: scenario.inFlightPerWorker,
    durationS: scenario.durationS,
    traffic: scenario.traffic,
    redis,
    strategies: outputs.map((o) => o.result),
  };
}

export async function summaryTable(results: readonly StrategyResult[]): Promise<string> {
  const { default: Table } = await importPeer<{ default: typeof import('cli-table3') }>(
    'cli-table3',
  );
  const table = new Table({
    head: [
      'strategy',
      'requests',
      'succeeded',
      'provider 429s',
      'billed requests',
      'goodput (binding)',
      'p50 ms',
      'p95 ms',
      'fairness',
    ],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of results)
    table.push([
      r.name,
      r.requests,
      r.succeeded,
      r.provider429,
      r.billedRequests,
      `${r.goodputRatio.toFixed(2)} (${r.binding})`,
      r.p50LatencyMs,
      r.p95LatencyMs,
      r.fairness.toFixed(2),
    ]);
  return table.toString();
}

const DIMENSION_LABEL: Readonly<Record<QuotaDimension, string>> = {
  rpm: 'requests',
  itpm: 'input tokens',
  otpm: 'output tokens',
  tpm: 'tokens',
};

/**
 * One panel per strategy: the admitted rates of requests and tokens (over the last quarter
 * period) as a share of their limit, the limit as a dashed rule at 100 %, and the provider's 429s
 * as red crosses sized by their count.
 */
export async function chartSvg(scenario: Scenario, outputs: readonly StrategyRunOutput[]) {
  // Optional peers (15 MB with their dependencies, for this chart alone): name both if missing.
  const [plot, dom] = await Promise.allSettled([
    importPeer<typeof import('@observablehq/plot')>('@observablehq/plot'),
    importPeer<typeof import('linkedom')>('linkedom'),
  ]);
  if (plot.status === 'rejected' || dom.status === 'rejected') {
    const errors = [plot, dom].flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    const other = errors.find((e) => !(e instanceof MissingPackageError));
    if (other !== undefined) throw other;
    const names = errors.flatMap((e: MissingPackageError) => e.packageNames);
    throw new MissingPackageError(names[0]!, ...names.slice(1));
  }
  const Plot = plot.value;
  const { parseHTML } = dom.value;
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  type Row = { strategy: string; t: number; share: number; series: string };
  const lines: Row[] = [];
  const rejections: (ChartBin & { strategy: string })[] = [];
  for (const { result, bins, tokenDimension } of outputs) {
    for (const b of bins) {
      lines.push({ strategy: result.name, t: b.t, share: b.requests, series: 'requests' });
      lines.push({
        strategy: result.name,
        t: b.t,
        share: b.tokens,
        series: DIMENSION_LABEL[tokenDimension],
      });
      if (b.rejected > 0) rejections.push({ ...b, strategy: result.name });
    }
  }
  const period = scenario.periodMs === 1_000 ? 'second (compressed minute)' : 'minute';
  const svg = Plot.plot({
    document: document as unknown as NonNullable<PlotOptions['document']>,
    width: 900,
    height: 170 * outputs.length + 60,
    marginLeft: 60,
    marginRight: 110,
    x: { label: 'time (s)' },
    y: {
      label: `admitted per ${period} (over the last quarter), share of the limit`,
      tickFormat: '%',
      grid: true,
    },
    fy: { label: null, domain: outputs.map((o) => o.result.name) },
    color: {
      domain: ['requests', 'input tokens', 'output tokens', 'tokens'],
      range: ['#4e79a7', '#59a14f', '#59a14f', '#59a14f'],
    },
    r: { range: [2, 8] },
    marks: [
      Plot.ruleY([1], { stroke: '#888', strokeDasharray: '4,3' }),
      Plot.lineY(lines, { x: 't', y: 'share', z: 'series', stroke: 'series', fy: 'strategy' }),
      Plot.dot(rejections, {
        x: 't',
        y: 0,
        r: 'rejected',
        fy: 'strategy',
        symbol: 'times',
        stroke: '#d62728',
        title: (d: ChartBin) => `${d.rejected} provider 429s`,
      }),
      ...outputs.flatMap((o) => {
        const label = (text: string, fill: string, dx: number) =>
          Plot.text([{ strategy: o.result.name, text }], {
            fy: 'strategy',
            frameAnchor: 'top-left',
            text: 'text',
            fill,
            textAnchor: 'start',
            dx,
            dy: 4,
          });
        return [
          label('requests', '#4e79a7', 6),
          label(DIMENSION_LABEL[o.tokenDimension], '#59a14f', 62),
          label(`${o.result.provider429} provider 429s (×)`, '#d62728', 165),
        ];
      }),
      Plot.frame({ stroke: '#ccc' }),
    ],
  }) as unknown as { outerHTML: string; setAttribute(k: string, v: string): void };
  svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.outerHTML}\n`;
}
