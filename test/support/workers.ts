/**
 * Real child processes for multi-worker tests. `forkWorker(script)` runs a TypeScript file under
 * tsx with an IPC channel; `request()` sends `{ id, ...message }` and resolves with the reply that
 * carries the same `id`; other messages (events) are collected in `events` and can be awaited with
 * `waitForEvent()`. Every worker is killed at process exit.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface WorkerMessage {
  id?: number;
  type?: string;
  [key: string]: unknown;
}

export interface TestWorker {
  child: ChildProcess;
  pid: number;
  events: WorkerMessage[];
  request<T extends WorkerMessage = WorkerMessage>(
    message: WorkerMessage,
    timeoutMs?: number,
  ): Promise<T>;
  waitForEvent(
    predicate: (m: WorkerMessage) => boolean,
    timeoutMs?: number,
  ): Promise<WorkerMessage>;
  /** Asks the worker to exit (`{ cmd: 'exit' }`), SIGKILL after 2 s. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function forkWorker(
  scriptUrl: URL,
  env: Record<string, string> = {},
): Promise<TestWorker> {
  const child = fork(fileURLToPath(scriptUrl), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const events: WorkerMessage[] = [];
  const pending = new Map<number, (m: WorkerMessage) => void>();
  const waiters = new Set<{
    predicate: (m: WorkerMessage) => boolean;
    resolve: (m: WorkerMessage) => void;
  }>();
  child.on('message', (raw) => {
    const m = raw as WorkerMessage;
    if (typeof m.id === 'number' && pending.has(m.id)) {
      pending.get(m.id)?.(m);
      pending.delete(m.id);
      return;
    }
    events.push(m);
    for (const w of [...waiters]) {
      if (w.predicate(m)) {
        waiters.delete(w);
        w.resolve(m);
      }
    }
  });
  let nextId = 1;
  const worker: TestWorker = {
    child,
    pid: child.pid ?? -1,
    events,
    request<T extends WorkerMessage>(message: WorkerMessage, timeoutMs = 15_000) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`worker ${child.pid}: no reply to ${JSON.stringify(message)}`));
        }, timeoutMs);
        pending.set(id, (m) => {
          clearTimeout(timer);
          resolve(m as T);
        });
        child.send({ ...message, id });
      });
    },
    waitForEvent(predicate, timeoutMs = 15_000) {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const entry = {
          predicate,
          resolve: (m: WorkerMessage) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(entry);
          reject(new Error(`worker ${child.pid}: event not seen within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(entry);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.send({ cmd: 'exit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
  await worker.waitForEvent((m) => m.type === 'ready', 20_000);
  return worker;
}
