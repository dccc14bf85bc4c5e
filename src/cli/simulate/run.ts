/**
 * Runs one strategy against a fresh simulator for the scenario's duration and measures it. Every
 * strategy gets the same simulator seed, the same workers and the same calls; at the deadline
 * the calls still waiting or in flight are aborted and counted apart (`cutAtDeadline`).
 */
import type { Redis } from 'ioredis';
import { systemClock } from '../../clock.js';
import type { SimulatorOptions } from '../../simulator/index.js';
import type { Scenario, StrategyName } from './args.js';
import {
  type ChartBin,
  chartBins,
  goodputOf,
  jainIndex,
  type QuotaDimension,
  quantile,
  tokenDimensionOf,
  warmupMs,
} from './measure.js';
import { createStrategy } from './strategies.js';

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
  readonly redis: (() => Promise<Redis>) | undefined;
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
    const strategy = await createStrategy(name, {
      scenario,
      url: sim.url,
      redis: options.redis,
      keyPrefix: `${options.keyPrefix}${name}:`,
    });
    const durationMs = scenario.durationS * 1000;
    const deadline = new AbortController();
    const latencies: number[] = [];
    const perWorker = strategy.workers.map(() => 0);
    const errors: Record<string, number> = {};
    let failed = 0;
    let cut = 0;
    let next = 0;
    const t0 = systemClock.now();
    const timer = setTimeout(() => deadline.abort(new Error('the run ended')), durationMs);
    const progress = setInterval(() => {
      options.onProgress?.({
        strategy: name,
        elapsedS: (systemClock.now() - t0) / 1000,
        durationS: scenario.durationS,
        succeeded: perWorker.reduce((a, b) => a + b, 0),
        failed,
        provider429: sim.stats().statuses['429'] ?? 0,
      });
    }, 250);
    const lane = async (worker: number) => {
      const call = strategy.workers[worker]!;
      while (!deadline.signal.aborted) {
        const index = next++;
        const started = systemClock.now();
        try {
          await call(index, deadline.signal);
          perWorker[worker]!++;
          latencies.push(systemClock.now() - started);
        } catch (error) {
          if (deadline.signal.aborted) cut++;
          else {
            failed++;
            const e = error as { name?: string; status?: number };
            const key = `${e.name ?? 'Error'}${e.status ? ` ${e.status}` : ''}`;
            errors[key] = (errors[key] ?? 0) + 1;
          }
        }
      }
    };
    try {
      await Promise.all(
        strategy.workers.flatMap((_, w) =>
          Array.from({ length: scenario.inFlightPerWorker }, () => lane(w)),
        ),
      );
    } finally {
      clearTimeout(timer);
      clearInterval(progress);
      await strategy.close();
    }

    const stats = sim.stats();
    const offset = t0 - stats.startedAt;
    const warm = warmupMs(durationMs, scenario.periodMs);
    const goodput = goodputOf(
      stats.series.points,
      scenario.quota,
      scenario.periodMs,
      offset + warm,
      offset + durationMs,
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
        note: strategy.note,
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
