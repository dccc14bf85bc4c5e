/**
 * Runs one strategy against a fresh simulator for the scenario's duration and measures it. Every
 * strategy gets the same simulator seed, the same worker processes and the same calls; at the
 * deadline the calls still waiting or in flight are aborted and counted apart (`cutAtDeadline`).
 */
import { systemClock } from '../../clock.js';
import type { SimulatorOptions } from '../../simulator/index.js';
import type { Scenario, StrategyName } from './args.js';
import {
  type ChartBin,
  chartBins,
  goodputOf,
  jainIndex,
  measuredWindow,
  type QuotaDimension,
  quantile,
  tokenDimensionOf,
} from './measure.js';
import type { PoolRun, WorkerPool } from './worker-pool.js';

/** The figures of one strategy: the fields of bench-results/goodput.json's `strategies`, and more. */
export interface StrategyResult {
  readonly name: StrategyName;
  /** How the strategy kept its budget in this run. */
  readonly note: string;
  /** Calls that ended before the deadline, succeeded or failed. */
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Calls still waiting or in flight at the deadline, aborted. */
  readonly cutAtDeadline: number;
  /** 429 responses the provider (simulator) sent. */
  readonly provider429: number;
  /** HTTP requests the provider received: every attempt, retries included. */
  readonly billedRequests: number;
  readonly goodputRatio: number;
  readonly binding: QuotaDimension;
  readonly goodputByDimension: Readonly<Partial<Record<QuotaDimension, number>>>;
  readonly p50LatencyMs: number;
  readonly p95LatencyMs: number;
  /** Jain's index of the workers' successes. */
  readonly fairness: number;
  /** Successes per worker. */
  readonly perWorker: readonly number[];
  /** What failed calls failed with, by error name and status: `RateLimitError 429: 12`. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface StrategyRunOutput {
  readonly result: StrategyResult;
  readonly bins: readonly ChartBin[];
  readonly tokenDimension: QuotaDimension;
}

export interface Progress {
  readonly strategy: StrategyName;
  readonly elapsedS: number;
  readonly durationS: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly provider429: number;
}

export interface RunOptions {
  /** The worker processes, one per `scenario.workers`. */
  readonly pool: WorkerPool;
  /** The Redis every worker connects to; `undefined` without Redis. */
  readonly redisUrl: string | undefined;
  /** Called about 4 times a second while the strategy runs. */
  readonly onProgress?: (progress: Progress) => void;
  /** Unique per invocation; each strategy adds its name. */
  readonly keyPrefix: string;
}

/** The simulator options of a scenario: per-minute limits, or per-second buckets when compressed. */
export function simulatorOptionsOf(scenario: Scenario): SimulatorOptions {
  const perMinute = 60_000 / scenario.periodMs;
  return {
    provider: scenario.provider,
    limits: Object.fromEntries(
      Object.entries(scenario.quota).map(([k, v]) => [k, (v ?? 0) * perMinute]),
    ),
    perSecond: scenario.periodMs === 1_000,
    latencyMs: { ...scenario.latency, jitter: 0.2 },
    outputTokens: scenario.traffic.outputTokens,
    seed: scenario.seed,
    ...(scenario.provider === 'anthropic' && { outputCounting: scenario.outputCounting }),
  };
}

export async function runStrategy(
  scenario: Scenario,
  name: StrategyName,
  options: RunOptions,
): Promise<StrategyRunOutput> {
  const { startSimulator } = await import('../../simulator/index.js');
  const sim = await startSimulator(simulatorOptionsOf(scenario));
  try {
    const durationMs = scenario.durationS * 1000;
    const tasks = Array.from({ length: options.pool.size }, (_, worker) => ({
      scenario,
      strategy: name,
      url: sim.url,
      redisUrl: options.redisUrl,
      keyPrefix: `${options.keyPrefix}${name}:`,
      worker,
    }));
    let t0: number | undefined;
    const progress = setInterval(() => {
      // Until every worker has built its side, nothing runs.
      if (t0 === undefined) return;
      const { succeeded, failed } = options.pool.progress();
      options.onProgress?.({
        strategy: name,
        elapsedS: Math.min(scenario.durationS, (systemClock.now() - t0) / 1000),
        durationS: scenario.durationS,
        succeeded,
        failed,
        provider429: sim.stats().statuses['429'] ?? 0,
      });
    }, 250);
    let run: PoolRun;
    try {
      run = await options.pool.run(tasks, durationMs, () => {
        t0 = systemClock.now();
      });
    } finally {
      clearInterval(progress);
    }
    const { outcomes, startedAt } = run;
    const latencies = outcomes.flatMap((o) => o.latenciesMs);
    const perWorker = outcomes.map((o) => o.succeeded);
    const failed = outcomes.reduce((sum, o) => sum + o.failed, 0);
    const cut = outcomes.reduce((sum, o) => sum + o.cutAtDeadline, 0);
    const errors: Record<string, number> = {};
    for (const o of outcomes)
      for (const [key, n] of Object.entries(o.errors)) errors[key] = (errors[key] ?? 0) + n;

    const stats = sim.stats();
    const offset = startedAt - stats.startedAt;
    const measured = measuredWindow(durationMs, scenario.periodMs);
    const goodput = goodputOf(
      stats.series.points,
      scenario.quota,
      scenario.periodMs,
      offset + measured.fromMs,
      offset + measured.toMs,
    );
    const succeeded = perWorker.reduce((a, b) => a + b, 0);
    const tokenDimension = tokenDimensionOf(scenario.provider, goodput);
    // Steps of whole series points, about 100 to a run.
    const stepMs = Math.max(100, Math.round(durationMs / 100 / 100) * 100);
    // Shifted by whole points, so that every window of the chart holds whole points.
    const shift = Math.round(offset / 100) * 100;
    const shifted = stats.series.points.map((p) => ({ ...p, t: p.t - shift }));
    return {
      result: {
        name,
        note: outcomes[0]!.note,
        requests: succeeded + failed,
        succeeded,
        failed,
        cutAtDeadline: cut,
        provider429: stats.statuses['429'] ?? 0,
        billedRequests: stats.requests,
        goodputRatio: goodput.ratio,
        binding: goodput.binding,
        goodputByDimension: goodput.byDimension,
        p50LatencyMs: Math.round(quantile(latencies, 0.5)),
        p95LatencyMs: Math.round(quantile(latencies, 0.95)),
        fairness: Number(jainIndex(perWorker).toFixed(3)),
        perWorker,
        errors,
      },
      bins: chartBins(
        shifted,
        scenario.quota,
        scenario.periodMs,
        tokenDimension,
        stepMs,
        // A quarter period: short enough to show a burst or a stall within a period.
        Math.max(stepMs, Math.round(scenario.periodMs / 4 / 100) * 100),
        durationMs,
      ),
      tokenDimension,
    };
  } finally {
    await sim.close();
  }
}
