/**
 * Helpers of the fault suite: worker processes (test/fixtures/fault-pipeline-worker.ts) started,
 * told `go` and `stop`, and their reports; counts of calls and requests in time windows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type {
  CallRecord,
  FaultWorkerConfig,
  FaultWorkerReport,
} from '../fixtures/fault-pipeline-worker.js';

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
