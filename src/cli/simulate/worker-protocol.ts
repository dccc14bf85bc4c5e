/**
 * The messages between `simulate` and its worker processes, over the IPC channel of
 * `child_process.fork`. Plain data only: each side checks the `type` before reading the rest.
 *
 * One strategy in a worker: `prepare` (build the SDK client and limiters) → `prepared`; once every
 * worker is prepared, `go` (keep the calls going for the duration) → `progress`... → `done`.
 */
import type { Scenario, StrategyName } from './args.js';

/** What a worker needs to build its side of one strategy. */
export interface WorkerTask {
  readonly scenario: Scenario;
  readonly strategy: StrategyName;
  /** The simulator's origin. */
  readonly url: string;
  /** The Redis every worker connects to on its own; `undefined` without Redis. */
  readonly redisUrl: string | undefined;
  /** Unique per run and strategy: every worker of the strategy uses the same keys. */
  readonly keyPrefix: string;
  /** This worker's number, from 0. */
  readonly worker: number;
}

/** One worker's figures for one strategy; the parent adds the simulator's. */
export interface WorkerOutcome {
  readonly note: string;
  readonly succeeded: number;
  readonly failed: number;
  readonly cutAtDeadline: number;
  /** ms from start to end of each successful call, waits included. */
  readonly latenciesMs: readonly number[];
  /** Failed calls by error name and status: `RateLimitError 429`. */
  readonly errors: Readonly<Record<string, number>>;
}

export type ToWorker =
  | { readonly type: 'prepare'; readonly task: WorkerTask }
  | { readonly type: 'go'; readonly durationMs: number };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'prepared' }
  | { readonly type: 'progress'; readonly succeeded: number; readonly failed: number }
  | { readonly type: 'done'; readonly outcome: WorkerOutcome }
  | {
      readonly type: 'failed';
      readonly name: string;
      readonly message: string;
      /** Set when optional packages are missing: the strategy is skipped, not the run. */
      readonly missingPackages?: readonly [string, ...string[]];
    };
