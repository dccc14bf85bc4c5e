/**
 * N worker processes (test/fixtures/pipeline-redis-worker.ts) share one pipeline budget (Anthropic
 * or OpenAI) through Redis against one simulator, for a window; the simulator enforces the same
 * quota as per-second buckets (capacity limit/60), and the pipelines are given that bucket
 * (`periodMs` 1000, limit/60 per period) or the `configured` one. Goodput is counted as the referee of issue #10 counts it: the
 * settled cost of the binding dimension, minus the bucket's starting capacity, over the refill in
 * the window. Used by the e2e test and by `npm run bench:redis-budget`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FeedbackSnapshot } from '../../src/pipeline/provider-feedback.js';
import { type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import type { PipelineWorkerConfig } from '../fixtures/pipeline-redis-worker.js';
import { uniquePrefix } from './redis.js';

/**
 * The pipelines issue's quotas per minute (per second in the simulator's buckets), as the runs
 * of the e2e test and the benchmarks use them: output tokens bind for Anthropic, tokens for
 * OpenAI, requests and input never.
 */
export const ISSUE_QUOTA = {
  anthropic: { rpm: 600_000, itpm: 60_000_000, otpm: 180_000 },
  openai: { rpm: 600_000, tpm: 360_000 },
} as const;

export interface RedisPipelineRunOptions {
  readonly redisUrl: string;
  readonly workers: number;
  readonly inFlight: number;
  readonly windowMs: number;
  /** The provider and its SDK (default Anthropic). */
  readonly provider?: 'anthropic' | 'openai';
  /**
   * Per-minute limits of the simulated organisation (enforced per second): rpm, itpm and otpm
   * for Anthropic; rpm and tpm for OpenAI.
   */
  readonly perMinute: Readonly<Record<string, number>>;
  readonly maxTokens: number;
  /** Per-minute limits the pipelines are given, when not the real ones (a wrong tier). */
  readonly configured?: Readonly<Record<string, number>>;
  /** How the pipelines charge output (default: `max_tokens`, as with bare limits). */
  readonly outputTokens?: 'generated' | 'max_tokens';
  /** The pipelines' `arrivalLagMs` (default: theirs). */
  readonly arrivalLagMs?: number;
  /** Output lengths the simulator draws (default: 10% to 50% of `max_tokens`). */
  readonly outputRange?: { min: number; max: number };
  /** More of the simulator: another consumer, faults, how it counts output. */
  readonly simulator?: Pick<
    SimulatorOptions,
    'background' | 'faults' | 'outputCounting' | 'exactRemaining'
  >;
}

export interface WorkerReport {
  readonly completed: number;
  readonly aborted: number;
  readonly rejected: Record<string, number>;
  readonly throttles: number;
  readonly retriedAtMs: number[];
  readonly drainedMs: number;
  readonly queuedAtEnd: number[];
  /** The pipeline's `inspect().feedback` at the end (absent: the provider moved nothing). */
  readonly feedback?: readonly FeedbackSnapshot[];
}

export interface RedisPipelineRun {
  readonly workers: number;
  readonly inFlight: number;
  readonly windowS: number;
  readonly completed: number;
  readonly rejected: Record<string, number>;
  readonly requests: number;
  readonly provider429: number;
  /** The simulator's refusals per dimension. */
  readonly refusedBy: Record<string, number>;
  readonly binding: string;
  /**
   * Settled cost of the binding dimension minus the starting bucket, over the refill in the
   * window that the other consumer (`simulator.background.share`) leaves.
   */
  readonly goodput: number;
  /** Requests the spend cap refused. */
  readonly spendCapRefused: number;
  readonly reports: readonly WorkerReport[];
}

const WORKER = fileURLToPath(new URL('../fixtures/pipeline-redis-worker.ts', import.meta.url));

export async function runRedisPipeline(
  options: RedisPipelineRunOptions,
): Promise<RedisPipelineRun> {
  const { perMinute } = options;
  const provider = options.provider ?? 'anthropic';
  const sim = await startSimulator({
    provider,
    limits: perMinute,
    perSecond: true,
    latencyMs: { firstTokenMs: 20, perTokenMs: 0.2 },
    outputTokens: options.outputRange ?? {
      min: Math.ceil(options.maxTokens / 10),
      max: Math.floor(options.maxTokens / 2),
    },
    // The provider counts output as the pipeline is told it does: `max_tokens` at the start and
    // the unused part credited at the end (the referee of issue #10), or as generated.
    ...(provider === 'anthropic'
      ? { outputCounting: options.outputTokens === 'generated' ? 'generated' : 'max_tokens' }
      : {}),
    ...options.simulator,
  });
  const configured = options.configured ?? perMinute;
  const children: ChildProcess[] = [];
  try {
    const config: PipelineWorkerConfig = {
      redisUrl: options.redisUrl,
      simUrl: sim.url,
      key: uniquePrefix('pipeline-run'),
      inFlight: options.inFlight,
      windowMs: options.windowMs,
      provider,
      limits: Object.fromEntries(
        Object.entries(configured).map(([name, limit]) => [name, Math.floor(limit / 60)]),
      ),
      periodMs: 1000,
      maxTokens: options.maxTokens,
      ...(options.outputTokens ? { outputTokens: options.outputTokens } : {}),
      ...(options.arrivalLagMs !== undefined ? { arrivalLagMs: options.arrivalLagMs } : {}),
    };
    const workers = Array.from({ length: options.workers }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      const lines = createInterface({ input: child.stdout! });
      let onReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => {
        onReady = resolve;
      });
      const report = new Promise<WorkerReport>((resolve, reject) => {
        lines.on('line', (line) => {
          if (line === 'ready') onReady();
          else if (line.startsWith('{')) resolve(JSON.parse(line) as WorkerReport);
        });
        child.once('exit', (code) =>
          reject(new Error(`worker exited with ${code} before reporting`)),
        );
      });
      return { child, ready, report };
    });
    await Promise.all(workers.map((w) => w.ready));
    const before = sim.stats();
    for (const w of workers) w.child.stdin!.write('go\n');
    const reports = await Promise.all(workers.map((w) => w.report));
    const stats = sim.stats();
    // The binding dimension: the one whose charge came closest to its capacity plus refill.
    const windowS = options.windowMs / 1000;
    const left = 1 - (options.simulator?.background?.share ?? 0);
    let binding = 'otpm';
    let goodput = 0;
    let best = -1;
    for (const [name, d] of Object.entries(stats.dimensions)) {
      if (!d) continue;
      const refill = (d.limit / 60) * windowS * left;
      const charged =
        d.charged - (before.dimensions[name as keyof typeof before.dimensions]?.charged ?? 0);
      const use = charged / (d.capacity + refill);
      if (use > best) {
        best = use;
        binding = name;
        goodput = (charged - d.capacity) / refill;
      }
    }
    const rejected: Record<string, number> = {};
    for (const r of reports) {
      for (const [name, n] of Object.entries(r.rejected))
        rejected[name] = (rejected[name] ?? 0) + n;
    }
    return {
      workers: options.workers,
      inFlight: options.inFlight,
      windowS,
      completed: reports.reduce((a, r) => a + r.completed, 0),
      rejected,
      requests: stats.requests - before.requests,
      provider429: (stats.statuses['429'] ?? 0) - (before.statuses['429'] ?? 0),
      refusedBy: Object.fromEntries(
        Object.entries(stats.dimensions)
          .filter(([, d]) => d && d.rejected > 0)
          .map(([name, d]) => [name, d!.rejected]),
      ),
      binding,
      goodput: Number(goodput.toFixed(3)),
      spendCapRefused: stats.spendCap.refused - before.spendCap.refused,
      reports,
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
  }
}
