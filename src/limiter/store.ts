/**
 * The contract between limiters and where their state lives (one process or Redis). Stores take
 * costs already converted to µs of schedule; the limiter owns units, options and waiting.
 */
import type { AlgorithmName } from './algorithms.js';
import type { Rate } from './rate.js';

/** What a store needs to know about one limiter. */
export interface LimiterSpec {
  readonly key: string;
  readonly algorithm: AlgorithmName;
  readonly rate: Rate;
}

/** One member's share of a granted reservation; needed to give it back or settle it. */
export interface Grant {
  /** Sequence number of the grant on its key (-1 when nothing was charged). */
  readonly seq: number;
  /** µs of schedule charged. */
  readonly costUs: number;
  /**
   * µs the grant moved this member's schedule: its cost, plus the idle time up to the common
   * start when a group waited on another member. Undoing the latest grant gives this back.
   */
  readonly spanUs: number;
}

export type ReserveOutcome = TimeScale &
  (
    | {
        readonly granted: true;
        /** µs the caller must wait before starting; every member is charged at that start. */
        readonly waitUs: number;
        readonly grants: readonly Grant[];
        /** Index of the member with the longest wait (0 when none waited). */
        readonly index: number;
        /** µs of schedule free on that member after the grant. */
        readonly freeUs: number;
        /** µs until that member's latest granted start (FIFO: nothing new starts before it). */
        readonly fifoUs: number;
      }
    | {
        readonly granted: false;
        /** µs the caller would have had to wait. */
        readonly waitUs: number;
        /** Index of the member with the longest wait. */
        readonly index: number;
        /** µs of schedule free on that member. */
        readonly freeUs: number;
        /** µs until that member's latest granted start. */
        readonly fifoUs: number;
      }
  );

/** How fast a store's schedule turns into time, where it is not one to one. */
export interface TimeScale {
  /**
   * Real µs per µs of `freeUs`: a worker serving its share 1/n of a budget (`onUnavailable:
   * 'local'`) holds 1/n of the burst and refills n times slower. 1 when absent.
   */
  readonly timeScale?: number;
}

export interface Look extends TimeScale {
  /** µs of schedule free now; negative while reservations run ahead. */
  readonly freeUs: number;
  /**
   * µs until the latest granted start: no new grant starts before it (FIFO). Above 0 only after
   * a refund moved the schedule back while calls were still waiting.
   */
  readonly fifoUs: number;
  /** µs until the latest `hold` on the key ends (0 when none is running). */
  readonly heldUs: number;
}

/**
 * A place for limiter state. `nowUs` is the caller's clock; a store with a clock of its own
 * (Redis `TIME`) ignores it, which is what keeps skewed workers from over-admitting.
 */
export interface Store {
  /**
   * Called once per limiter made on this store, before it is used: refuses (throws) a limiter
   * the store cannot serve, such as one whose key a live limiter uses with other limits
   * (`LimiterKeyConflictError`). Optional for stores of your own.
   */
  claim?(spec: LimiterSpec, owner: object): void;
  /**
   * All-or-nothing reservation: each member with a cost above 0 is charged its cost at
   * now + the longest wait of all members, unless that wait exceeds `maxWaitUs`, in which case
   * nothing is charged. Members with cost 0 only take part in the wait.
   */
  reserve(
    specs: readonly LimiterSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): Promise<ReserveOutcome>;
  /** Gives back `refundUs` of a grant (cancel, or settle below the reservation). */
  refund(spec: LimiterSpec, grant: Grant, refundUs: number, nowUs: number): Promise<void>;
  /** Charges `extraUs` beyond a grant (settle above the reservation). */
  charge(spec: LimiterSpec, extraUs: number, nowUs: number): Promise<void>;
  /** No grant on this key starts within `delayUs` from the store's now. */
  hold(spec: LimiterSpec, delayUs: number, nowUs: number): Promise<void>;
  /** Reads a key without changing it. */
  look(spec: LimiterSpec, nowUs: number): Promise<Look>;
}
