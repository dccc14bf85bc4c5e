/** A worker process failed or exited in the middle of a run. */
export class WorkerProcessError extends Error {
  constructor(
    readonly worker: number,
    message: string,
  ) {
    super(`simulate's worker process ${worker} ${message}`);
    this.name = 'WorkerProcessError';
  }
}
