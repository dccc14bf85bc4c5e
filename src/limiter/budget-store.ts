/**
 * The contract between a budget (budget.ts) and where its queues live: one process
 * (`MemoryBudgetStore`) or Redis (`RedisBudgetStore`). Costs are µs of schedule; the budget owns
 * units, options and waiting. Each key holds one `BucketQueueState` (bucket-queue.ts).
 */
import type { QueueShift } from './bucket-queue.js';
import type { Rate } from './rate.js';

/** One dimension of a budget as the store sees it. */
export interface BudgetSpec {
  readonly key: string;
  readonly rate: Rate;
  /** µs a start takes to reach the provider, at most (bucket-queue.ts `chargedEnd`). */
  readonly lagUs: number;
  /**
   * Units of the limit per unit of `rate` (1, or a power of ten for limits too large for exact µs
   * arithmetic), so that a store can record the limit as configured. @default 1
   */
  readonly unit?: number;
}

/** Where a member's reservation stands, for the waiter to plan its start. */
export interface TicketPlan {
  /** The reservation's number on its key; -1 when the member was not charged (cost 0). */
  readonly seq: number;
  /** Whether it waits in the queue (else it has started, or was not charged). */
  readonly queued: boolean;
  /**
   * µs from the store's answer until its start on this key (0 when not queued); negative when
   * this key would have let it start earlier (kept, so that later shifts add up right).
   */
  readonly waitUs: number;
  /** The key's version when this plan was read; only newer shifts apply. */
  readonly version: number;
}

export type BudgetReserveOutcome =
  | {
      readonly granted: true;
      /** µs until the reservation starts (0: at once). */
      readonly waitUs: number;
      /** Member with the longest wait. */
      readonly index: number;
      /** One plan per member. */
      readonly plans: readonly TicketPlan[];
      /** When it started at once: µs of arrival lag each member was charged (`lagChargedUs`). */
      readonly lagsUs?: readonly number[];
    }
  | {
      readonly granted: false;
      /** µs the caller would have had to wait. */
      readonly waitUs: number;
      readonly index: number;
    };

/** What a key looks like now. */
export interface BudgetLook {
  /** µs of schedule free at once (negative while the queue runs ahead). */
  readonly freeUs: number;
  /** Reservations waiting in the queue. */
  readonly queued: number;
  /** µs until the latest hold ends. */
  readonly heldUs: number;
}

/** A shift of the waiting starts of a key, seen by every waiter sharing it. */
export interface QueueChange {
  readonly key: string;
  readonly shift: QueueShift;
  /**
   * Not a shift: the key stands at `shift.version` (its `all` is 0). A store that may have missed
   * shifts (a Redis subscription that was down) says so; waiters planned on an older version ask
   * the store for their plan again.
   */
  readonly resync?: boolean;
}

/** A claim's answer: start now, wait more (with fresh plans), or the reservation was lost. */
export type ClaimOutcome =
  | {
      readonly status: 'started';
      /** µs of arrival lag each member was charged (`lagChargedUs`); 0 for one not charged. */
      readonly lagsUs?: readonly number[];
    }
  | { readonly status: 'wait'; readonly waitUs: number; readonly plans: readonly TicketPlan[] }
  | { readonly status: 'lost' };

export interface BudgetStore {
  /**
   * All-or-nothing: each member with a cost above 0 is charged at now + the longest wait of all
   * members, queued behind earlier reservations, unless that wait exceeds `maxWaitUs`.
   */
  reserve(
    specs: readonly BudgetSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): Promise<BudgetReserveOutcome>;
  /**
   * A waiter's planned start has come: if every member's ticket may start, all are charged now
   * (`started`); otherwise the longest wait left, with fresh plans. `lost` when a ticket was
   * dropped (its worker missed its start by more than the store's grace): reserve again.
   */
  claim(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    nowUs: number,
  ): Promise<ClaimOutcome>;
  /**
   * Settles: a negative delta is credited (a refund), a positive one charged, at now. Then, where
   * `leftUs[i]` is 0 or more (the provider's `remaining`, in µs of schedule), the bucket comes
   * down to it, less the key's estimate of what others spend between two figures, which the
   * figure updates (bucket-queue.ts `lowerTo`): the answer's settle and its figures in one
   * operation. Returns, per member, the estimate after this figure (µs; 0 where no figure was
   * given). Undefined when the store could not tell (Redis unreachable).
   */
  adjust(
    specs: readonly BudgetSpec[],
    deltasUs: readonly number[],
    nowUs: number,
    leftUs?: readonly number[],
  ): Promise<readonly number[] | undefined>;
  /** Withdraws a reservation that will not run (abort, a wait grown past its limit). */
  cancel(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    costsUs: readonly number[],
    nowUs: number,
  ): Promise<void>;
  /**
   * A request of `costUs` fits the key no sooner than `delayUs` from the store's now (a 429's
   * retry-after): the bucket comes down to that (queueHold).
   */
  hold(spec: BudgetSpec, delayUs: number, costUs: number, nowUs: number): Promise<void>;
  look(spec: BudgetSpec, nowUs: number): Promise<BudgetLook>;
  /** Calls `listener` for each change on `keys` (in this process or, on Redis, any worker). */
  watch(keys: readonly string[], listener: (change: QueueChange) => void): () => void;
  /** First contact shared across workers (absent: each process makes its own). */
  readonly contact?: SharedContact;
}

/** What a worker tells the others about a budget once the provider has answered it. */
export interface ContactNotice {
  /** Epoch ms until which the provider refuses the budget for quota (a spend cap). */
  readonly stoppedUntil?: number;
  /** Limits the provider's headers reported, per dimension, as the headers state them. */
  readonly limits?: Readonly<Record<string, number>>;
  /** Output tokens the first answer wrote (for estimates of output counted as generated). */
  readonly output?: number;
  /** Epoch ms at which a worker cut its rate after 429s no header explained. */
  readonly cutAt?: number;
}

/** Where first contact with the provider stands for a budget, across its workers. */
export interface ContactAnswer extends ContactNotice {
  /** `open`: the provider has answered; `probe`: this worker sends the first request; `wait`: another does. */
  readonly contact: 'open' | 'probe' | 'wait';
}

/**
 * First contact shared by every worker of a store (pipeline/first-contact.ts): one worker probes
 * the provider, the others wait for its answer. Optional: a store of one process has nobody to
 * tell.
 */
export interface SharedContact {
  /** Takes the probe's lease on `name` for `leaseMs`, unless contact is made or another holds it. */
  enter(name: string, leaseMs: number): Promise<ContactAnswer>;
  /** Records that the provider answered (with what it said), and tells every worker. */
  made(name: string, notice: ContactNotice): Promise<void>;
  /**
   * Calls `listener` when any worker records an answer on `name`; returns the unsubscribe. A
   * `passive` listener hears only while the store listens for other reasons (callers waiting):
   * it keeps no connection open by itself.
   */
  onMade(name: string, listener: (notice: ContactNotice) => void, passive?: boolean): () => void;
}
