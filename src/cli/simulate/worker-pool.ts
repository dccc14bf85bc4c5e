/**
 * `simulate`'s worker processes: forked once per run (worker-process.ts) and reused by every
 * strategy, so each strategy gets the same warm processes and none pays their start-up. Runs from
 * the sources (tsx: the child inherits its loader through `execArgv`) and from the built package
 * alike: the entry sits beside this module with the same extension.
 */
import { fork } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../clock.js';
import { WorkerChannel, type WorkerProgress } from './worker-channel.js';
import type { WorkerOutcome, WorkerTask } from './worker-protocol.js';

/** Successes and failures so far, summed over the workers. */
export type PoolProgress = WorkerProgress;

export interface PoolRun {
  /** When the workers were told to start (epoch ms, this process's clock). */
  readonly startedAt: number;
  /** One per worker, in worker order. */
  readonly outcomes: readonly WorkerOutcome[];
}

/**
 * The arguments of this Node to pass on: tsx's loader (`--import`, `--require`), not an
 * inspector port already taken or an `--eval` of the parent.
 */
function childExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (/^--inspect/.test(arg)) continue;
    if (['--eval', '-e', '--print', '-p'].includes(arg)) {
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

export class WorkerPool {
  private constructor(private readonly workers: readonly WorkerChannel[]) {}

  /** Forks `count` worker processes and waits until each listens. */
  static async start(count: number): Promise<WorkerPool> {
    const here = fileURLToPath(import.meta.url);
    const entry = join(dirname(here), `worker-process${extname(here)}`);
    const workers = Array.from(
      { length: count },
      (_, i) =>
        new WorkerChannel(
          i,
          fork(entry, [], {
            execArgv: childExecArgv(),
            // Their output is ours: a warning or a crash shows where the user looks.
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          }),
        ),
    );
    const pool = new WorkerPool(workers);
    try {
      await Promise.all(workers.map((w) => w.next('ready')));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Successes and failures of the running strategy so far. */
  progress(): PoolProgress {
    let succeeded = 0;
    let failed = 0;
    for (const w of this.workers) {
      succeeded += w.progress.succeeded;
      failed += w.progress.failed;
    }
    return { succeeded, failed };
  }

  /**
   * Runs one strategy: every worker builds its side (`tasks[i]` for worker i), then all start
   * together and keep their calls going for `durationMs`. A worker that cannot build it fails
   * the run (MissingPackageError when an optional package is missing). `onStart` is called as
   * they are told to start.
   */
  async run(
    tasks: readonly WorkerTask[],
    durationMs: number,
    onStart?: () => void,
  ): Promise<PoolRun> {
    if (tasks.length !== this.workers.length)
      throw new Error(`${tasks.length} tasks for ${this.workers.length} workers`);
    for (const w of this.workers) w.progress = { succeeded: 0, failed: 0 };
    const prepared = this.workers.map((w, i) => {
      const reply = w.next('prepared');
      w.send({ type: 'prepare', task: tasks[i]! });
      return reply;
    });
    const settled = await Promise.allSettled(prepared);
    const refused = settled.find((s) => s.status === 'rejected');
    if (refused) {
      // Those that did build their side start and stop at once, closing their connections.
      await Promise.allSettled(
        this.workers.map((w, i) => {
          if (settled[i]!.status === 'rejected') return undefined;
          const done = w.next('done');
          w.send({ type: 'go', durationMs: 0 });
          return done;
        }),
      );
      throw refused.reason;
    }
    const startedAt = systemClock.now();
    onStart?.();
    const done = this.workers.map((w) => {
      const reply = w.next('done');
      w.send({ type: 'go', durationMs });
      return reply;
    });
    const replies = await Promise.all(done);
    return { startedAt, outcomes: replies.map((r) => r.outcome) };
  }

  /** Closes the channels (each worker exits when its channel closes), then waits up to 5 s. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.disconnect();
        const timer = setTimeout(() => child.kill(), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
