/**
 * The parent's end of one worker process: the reply it awaits, and the figures of the run so far.
 */
import type { ChildProcess } from 'node:child_process';
import { MissingPackageError } from './traffic.js';
import { WorkerProcessError } from './worker-process-error.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

/** Successes and failures so far. */
export interface WorkerProgress {
  readonly succeeded: number;
  readonly failed: number;
}

type Reply = Exclude<FromWorker, { type: 'progress' } | { type: 'failed' }>;

export class WorkerChannel {
  progress: WorkerProgress = { succeeded: 0, failed: 0 };
  private waiter:
    | { readonly resolve: (reply: Reply) => void; readonly reject: (error: Error) => void }
    | undefined;
  private ended: Error | undefined;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
  ) {
    child.on('message', (message: FromWorker) => {
      if (message.type === 'progress') {
        this.progress = { succeeded: message.succeeded, failed: message.failed };
        return;
      }
      const waiter = this.waiter;
      this.waiter = undefined;
      if (message.type === 'failed')
        waiter?.reject(
          message.missingPackages === undefined
            ? new WorkerProcessError(index, `failed: ${message.name}: ${message.message}`)
            : new MissingPackageError(...message.missingPackages),
        );
      else waiter?.resolve(message);
    });
    child.on('exit', (code, signal) => {
      this.ended = new WorkerProcessError(index, `exited (${signal ?? `code ${code}`})`);
      this.waiter?.reject(this.ended);
      this.waiter = undefined;
    });
    child.on('error', (error) => {
      this.waiter?.reject(new WorkerProcessError(index, `failed: ${error.message}`));
      this.waiter = undefined;
    });
  }

  /** The next reply of type `type`; rejects on a failure or when the process ends. */
  next<T extends Reply['type']>(type: T): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(this.ended);
      this.waiter = {
        resolve: (reply) =>
          reply.type === type
            ? resolve(reply as Extract<Reply, { type: T }>)
            : reject(new WorkerProcessError(this.index, `sent "${reply.type}", not "${type}"`)),
        reject,
      };
    });
  }

  send(message: ToWorker): void {
    this.child.send(message);
  }
}
