/**
 * Helpers of the fault suite: its bench (a simulator and a Redis server of its own), worker
 * processes (test/fixtures/fault-pipeline-worker.ts) started on one shared configuration, told
 * `go` and `stop`, and their reports; counts of calls and requests in time windows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from '../../src/simulator/index.js';
import type {
  CallRecord,
  FaultWorkerConfig,
  FaultWorkerReport,
} from '../fixtures/fault-pipeline-worker.js';
import { type RedisServerHandle, startRedisServer, uniquePrefix } from '../support/redis.js';

/** The provider of most fault runs: Anthropic, answers of 10-30 tokens, 40 ms to the first. */
export const QUICK_ANSWERS: SimulatorOptions = {
  provider: 'anthropic',
  latencyMs: { firstTokenMs: 40, perTokenMs: 1 },
  outputTokens: { min: 10, max: 30 },
};

/** A fault test's simulator and private Redis server, while its tests run. */
export interface FaultBench {
  readonly sim: Simulator;
  readonly server: RedisServerHandle;
}

/**
 * Starts a simulator (`simulator`) and a private Redis server (killed, paused, flushed by the
 * tests) before the tests of the file, or of the `describe` it is called in, and stops them
 * after. The function returned gives them while the tests run.
 */
export function faultBench(simulator: SimulatorOptions = QUICK_ANSWERS): () => FaultBench {
  let bench: FaultBench | undefined;
  beforeAll(async () => {
    const [sim, server] = await Promise.all([startSimulator(simulator), startRedisServer()]);
    bench = { sim, server };
  });
  afterAll(async () => {
    await bench?.sim.close();
    await bench?.server.stop();
  });
  return () => {
    if (!bench) throw new Error('faultBench(): the bench exists only while its tests run');
    return bench;
  };
}

/** What a fault run changes in the workers' configuration; `rps` is the budget per second. */
export type FaultWorkerOptions = Partial<Omit<FaultWorkerConfig, 'limits'>> & {
  readonly rps: number;
};

/**
 * The configuration the fault runs share, on `bench`: a budget of `rps` requests a second (burst
 * `rps`, tokens unbounded) under key 'org' with a prefix of its own named after `name`, four
 * calls in flight, fail-closed with a 500 ms timeout, a recheck every 250 ms and `max_tokens`
 * 64; `options` changes any of it.
 */
export function faultConfig(
  bench: FaultBench,
  name: string,
  { rps, ...options }: FaultWorkerOptions,
): FaultWorkerConfig {
  return {
    redisUrl: bench.server.url,
    simUrl: bench.sim.url,
    prefix: uniquePrefix(name),
    key: 'org',
    inFlight: 4,
    mode: 'fail-closed',
    timeoutMs: 500,
    recheckMs: 250,
    limits: { rpm: rps, itpm: 1_000_000, otpm: 1_000_000 },
    periodMs: 1000,
    maxTokens: 64,
    ...options,
  };
}

/**
 * Starts `count` workers on `config` and an admin connection to their Redis, runs `body`, then
 * ends the workers still up (told to exit, then killed) and closes the connection, whatever
 * `body` did.
 */
export async function withWorkers<T>(
  count: number,
  config: FaultWorkerConfig,
  body: (workers: FaultWorker[], admin: Redis) => Promise<T>,
): Promise<T> {
  let workers: FaultWorker[] = [];
  // Connected on its first command: a run that only kills the server never uses it.
  const admin = new Redis(config.redisUrl, { lazyConnect: true });
  admin.on('error', () => {}); // some runs take Redis away on purpose
  try {
    workers = await startWorkers(count, config);
    return await body(workers, admin);
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.stdin!.write('exit\n');
    await sleep(100);
    killAll(workers);
    admin.disconnect();
  }
}

/**
 * How the calls of a run ended, for its figures and its assertions: calls still pending after
 * `stop` (0 is right), rejections by class, and those of a class outside TYPED_REJECTIONS ([] is
 * right).
 */
export function endings(reports: readonly FaultWorkerReport[]): {
  pending: number;
  rejected: Record<string, number>;
  untyped: string[];
} {
  const rejected = rejections(reports);
  return {
    pending: reports.reduce((a, r) => a + r.pending, 0),
    rejected,
    untyped: Object.keys(rejected).filter((name) => !TYPED_REJECTIONS.has(name)),
  };
}

const WORKER = fileURLToPath(new URL('../fixtures/fault-pipeline-worker.ts', import.meta.url));

export interface InspectedLimit {
  readonly name: string;
  readonly limit: number;
  readonly available: number;
  readonly queued: number;
}

export interface FaultWorker {
  readonly child: ChildProcess;
  go(): void;
  /** Sends `stop` and resolves with the report (the worker stays up for `inspect`). */
  stop(): Promise<FaultWorkerReport>;
  /** The pipeline's budget dimensions as Redis holds them now. */
  inspect(): Promise<InspectedLimit[]>;
  /** Streams connected and not yet read to their end, and requests sent so far. */
  status(): Promise<{ streaming: number; sent: number }>;
  /** Resolves when the worker exits (after a SIGKILL, say). */
  readonly exited: Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts `count` workers with `config` and resolves once all are ready. */
export async function startWorkers(
  count: number,
  config: FaultWorkerConfig,
): Promise<FaultWorker[]> {
  const workers = Array.from({ length: count }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    live.add(child);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        live.delete(child);
        resolve();
      }),
    );
    const lines = createInterface({ input: child.stdout! });
    const inspections: ((limits: InspectedLimit[]) => void)[] = [];
    const statuses: ((status: { streaming: number; sent: number }) => void)[] = [];
    let onReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    const report = new Promise<FaultWorkerReport>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line === 'ready') onReady();
        else if (line.startsWith('inspect ')) inspections.shift()?.(JSON.parse(line.slice(8)));
        else if (line.startsWith('status ')) statuses.shift()?.(JSON.parse(line.slice(7)));
        else if (line.startsWith('{')) resolve(JSON.parse(line) as FaultWorkerReport);
      });
      void exited.then(() => reject(new Error('worker exited before reporting')));
    });
    report.catch(() => {}); // a worker killed on purpose never reports
    const worker: FaultWorker = {
      child,
      exited,
      go: () => child.stdin!.write('go\n'),
      stop: () => {
        child.stdin!.write('stop\n');
        return report;
      },
      inspect: () =>
        new Promise<InspectedLimit[]>((resolve) => {
          inspections.push(resolve);
          child.stdin!.write('inspect\n');
        }),
      status: () =>
        new Promise((resolve) => {
          statuses.push(resolve);
          child.stdin!.write('status\n');
        }),
    };
    return { worker, ready };
  });
  await Promise.race([
    Promise.all(workers.map((w) => w.ready)),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('workers not ready within 30 s')), 30_000),
    ),
  ]);
  return workers.map((w) => w.worker);
}

/** Ends every worker still running (for `finally`). */
export function killAll(workers: readonly FaultWorker[]): void {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many of `times` fall in [from, to). */
export function countIn(times: readonly number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length;
}

/** The largest count of `times` in any window of `windowMs` (starting at one of them). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Rejections of every report added up, by class. */
export function rejections(reports: readonly FaultWorkerReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reports) {
    for (const [name, n] of Object.entries(r.rejected)) out[name] = (out[name] ?? 0) + n;
  }
  return out;
}

export function allCalls(reports: readonly FaultWorkerReport[]): CallRecord[] {
  return reports.flatMap((r) => r.calls);
}

export function allSent(reports: readonly FaultWorkerReport[]): number[] {
  return reports.flatMap((r) => r.sentAt);
}

/** Error classes a pipeline call may end with in these runs: all typed, all named. */
export const TYPED_REJECTIONS = new Set([
  'LimiterUnavailableError',
  'RateLimitExceededError',
  'BulkheadRejectedError',
  'TaskCancelledError',
  'APIConnectionError',
  'APIConnectionTimeoutError',
  'InternalServerError',
  'RateLimitError',
  'OverloadedError',
  'APIError',
]);
