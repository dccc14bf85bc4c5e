/**
 * One worker process of `simulate`, started by worker-pool.ts with `child_process.fork`. For each
 * strategy it builds what one process of an application would have (strategies.ts), keeps
 * `inFlightPerWorker` calls going for the duration when told to, and sends its figures back.
 * Listening is this module's purpose: importing it anywhere else would make no sense.
 */
import { systemClock } from '../../clock.js';
import { openRedis } from './redis-connection.js';
import { createWorker, type WorkerStrategy } from './strategies.js';
import { MissingPackageError } from './traffic.js';
import type { FromWorker, ToWorker, WorkerOutcome, WorkerTask } from './worker-protocol.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

let current: { readonly task: WorkerTask; readonly strategy: WorkerStrategy } | undefined;

async function prepare(task: WorkerTask): Promise<void> {
  const { redisUrl } = task;
  const strategy = await createWorker(task.strategy, {
    scenario: task.scenario,
    url: task.url,
    redis: redisUrl === undefined ? undefined : () => openRedis(redisUrl),
    keyPrefix: task.keyPrefix,
  });
  current = { task, strategy };
  send({ type: 'prepared' });
}

/** Keeps the calls going until `durationMs` has passed, then aborts those left and reports. */
async function go(durationMs: number): Promise<void> {
  if (!current) throw new Error('"go" before "prepare"');
  const { task, strategy } = current;
  current = undefined;
  const { workers, inFlightPerWorker } = task.scenario;
  const deadline = new AbortController();
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  let succeeded = 0;
  let failed = 0;
  let cut = 0;
  let calls = 0;
  const timer = setTimeout(() => deadline.abort(new Error('the run ended')), durationMs);
  const progress = setInterval(() => send({ type: 'progress', succeeded, failed }), 250);
  const lane = async () => {
    while (!deadline.signal.aborted) {
      // Call numbers interleave across workers, so every strategy sends the same calls.
      const index = task.worker + workers * calls++;
      const started = systemClock.now();
      try {
        await strategy.call(index, deadline.signal);
        succeeded++;
        latenciesMs.push(systemClock.now() - started);
      } catch (error) {
        if (deadline.signal.aborted) cut++;
        else {
          failed++;
          const e = error as { name?: string; status?: number };
          const key = `${e.name ?? 'Error'}${e.status ? ` ${e.status}` : ''}`;
          errors[key] = (errors[key] ?? 0) + 1;
        }
        // A call refused at once (a cost above the limit) would loop in microtasks alone and
        // starve the deadline's timer: let timers run between failures.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlightPerWorker }, lane));
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    await strategy.close();
  }
  const outcome: WorkerOutcome = {
    note: strategy.note,
    succeeded,
    failed,
    cutAtDeadline: cut,
    latenciesMs,
    errors,
  };
  send({ type: 'done', outcome });
}

function fail(error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  send({
    type: 'failed',
    name: e.name,
    message: e.message,
    ...(error instanceof MissingPackageError && {
      missingPackages: error.packageNames as [string, ...string[]],
    }),
  });
}

process.on('message', (message: ToWorker) => {
  const work = message.type === 'prepare' ? prepare(message.task) : go(message.durationMs);
  work.catch(fail);
});
// The parent closes the channel when the run ends, or dies: either way this worker is done.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
