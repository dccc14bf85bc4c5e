import {
  BulkheadRejectedError,
  type Event,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
} from 'cockatiel';
import type { Clock } from '../clock.js';
import { scheduleOn, systemClock } from '../clock.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { LimiterUnavailableError } from '../errors/limiter-unavailable-error.js';
import { roundMs } from '../events/event-numbers.js';
import { SafeEventEmitter } from '../events/safe-event-emitter.js';
import { checkCallbacks, checkKnownKeys, optionKeys } from '../options/check-options.js';
import {
  BULKHEAD_DEFAULTS,
  type BulkheadPolicyOptions,
  type BulkheadRejectEvent,
  type BulkheadSnapshot,
} from './bulkhead-options.js';
import { MAX_MS, RedisSemaphore } from './redis-semaphore.js';

export type {
  BulkheadPolicyOptions,
  BulkheadRejectEvent,
  BulkheadSnapshot,
} from './bulkhead-options.js';
export { BULKHEAD_DEFAULTS } from './bulkhead-options.js';

interface Permit {
  /** Starts renewing; returns a function that stops it. */
  keepAlive(): () => void;
  release(): void;
}

interface Waiter {
  resolve(permit: Permit): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  /** With Redis: this waiter's place in the cluster-wide queue (and its lease id once granted). */
  ticket?: string;
}

const OPTION_KEYS = optionKeys<BulkheadPolicyOptions>({
  maxConcurrent: true,
  maxQueue: true,
  redis: true,
  key: true,
  leaseMs: true,
  pollIntervalMs: true,
  clock: true,
  random: true,
});
/** What cockatiel and p-limit call these options. */
const ALIASES = {
  limit: 'maxConcurrent',
  concurrency: 'maxConcurrent',
  queue: 'maxQueue',
  queuesize: 'maxQueue',
};

function integer(value: number, option: string, min: number): number {
  if (!(Number.isInteger(value) && value >= min)) {
    throw new InvalidConfigError(option, `an integer >= ${min}`, value);
  }
  return value;
}

/**
 * Limits concurrent calls, in one process or — with `redis` — across a cluster through a Redis
 * semaphore whose leases expire if a worker dies. Calls beyond the limit wait in a bounded FIFO
 * queue (bounded per process; with `redis` the order is cluster-wide, by tickets numbered in
 * Redis); beyond that they are rejected with cockatiel's `BulkheadRejectedError`
 * (so `isBulkheadRejectedError` and `fallbackPolicy`'s defaults recognise it). A queued call
 * whose signal aborts leaves the queue at once, rejecting with the signal's reason.
 *
 * Unlike cockatiel's `bulkhead`, whose queue keeps aborted entries until they reach its head, an
 * abort frees the queue place immediately. With `redis`, if Redis cannot be reached, calls are
 * refused with `LimiterUnavailableError` (the limit cannot be enforced).
 */
export class BulkheadPolicy implements IPolicy {
  declare readonly _altReturn: never;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  private readonly semaphore: RedisSemaphore | undefined;
  private readonly pollIntervalMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private executing = 0;
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private repump = false;
  private cancelPoll: (() => void) | undefined;
  private readonly rejectEmitter = new SafeEventEmitter<BulkheadRejectEvent>();
  private readonly leaseLostEmitter = new SafeEventEmitter<{ key: string }>();
  private readonly successEmitter = new SafeEventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new SafeEventEmitter<IFailureEvent>();

  /** A call was refused (limit and queue full). */
  readonly onReject: Event<BulkheadRejectEvent> = this.rejectEmitter.addListener;
  /** A running call's cluster-wide lease expired before it could be renewed. */
  readonly onLeaseLost: Event<{ key: string }> = this.leaseLostEmitter.addListener;
  readonly onSuccess: Event<ISuccessEvent> = this.successEmitter.addListener;
  readonly onFailure: Event<IFailureEvent> = this.failureEmitter.addListener;

  constructor(options: BulkheadPolicyOptions = {}) {
    checkKnownKeys(options, OPTION_KEYS, 'bulkheadPolicy()', { aliases: ALIASES });
    checkCallbacks(options, ['random']);
    const d = BULKHEAD_DEFAULTS;
    this.maxConcurrent = integer(options.maxConcurrent ?? d.maxConcurrent, 'maxConcurrent', 1);
    this.maxQueue = integer(options.maxQueue ?? d.maxQueue, 'maxQueue', 0);
    const leaseMs = options.leaseMs ?? d.leaseMs;
    if (!(Number.isFinite(leaseMs) && leaseMs > 0 && leaseMs <= MAX_MS)) {
      throw new InvalidConfigError('leaseMs', 'a positive number of ms up to 2^31 - 1', leaseMs);
    }
    this.pollIntervalMs = options.pollIntervalMs ?? d.pollIntervalMs;
    // A queued call's ticket lives 10 polls: that too must stay a valid lease length.
    if (
      !(
        Number.isFinite(this.pollIntervalMs) &&
        this.pollIntervalMs > 0 &&
        this.pollIntervalMs <= MAX_MS / 10
      )
    ) {
      throw new InvalidConfigError(
        'pollIntervalMs',
        'a positive number of ms up to (2^31 - 1) / 10',
        this.pollIntervalMs,
      );
    }
    if (options.redis) {
      if (!options.key)
        throw new InvalidConfigError('key', 'a non-empty string with `redis`', options.key);
      this.semaphore = new RedisSemaphore({
        redis: options.redis,
        key: options.key,
        limit: this.maxConcurrent,
        leaseMs,
        // Waiters renew their tickets at every poll (at most 1.5 x pollIntervalMs apart).
        ticketMs: Math.max(2000, 10 * this.pollIntervalMs),
      });
    }
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** Calls running and queued in this process. */
  inspect(): BulkheadSnapshot {
    return { executing: this.executing, queued: this.queue.length };
  }

  /** Permits held across the cluster (Redis), or in this process. */
  async clusterExecuting(): Promise<number> {
    return this.semaphore ? this.semaphore.count() : this.executing;
  }

  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    const permit = await this.acquire(signal);
    const stop = permit.keepAlive();
    const started = this.clock.now();
    try {
      const value = await fn({ signal: signal ?? new AbortController().signal });
      this.successEmitter.emit({ duration: roundMs(this.clock.now() - started) });
      return value;
    } catch (error) {
      this.failureEmitter.emit({
        duration: roundMs(this.clock.now() - started),
        handled: false,
        reason: { error },
      });
      throw error;
    } finally {
      stop();
      permit.release();
    }
  }

  private async acquire(signal: AbortSignal | undefined): Promise<Permit> {
    if (this.semaphore) return this.acquireShared(this.semaphore, signal);
    if (this.queue.length === 0) {
      const permit = await this.tryTake();
      if (permit) {
        if (!signal?.aborted) return permit;
        permit.release();
        throw signal.reason;
      }
    }
    if (this.queue.length >= this.maxQueue) {
      this.rejectEmitter.emit({ maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue });
      throw new BulkheadRejectedError(this.maxConcurrent, this.maxQueue);
    }
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      void this.pump();
    });
  }

  /**
   * With Redis: a permit at once if one is free and no waiter anywhere is owed it; otherwise a
   * ticket in the cluster-wide queue and a place in this process's queue.
   */
  private async acquireShared(
    semaphore: RedisSemaphore,
    signal: AbortSignal | undefined,
  ): Promise<Permit> {
    if (this.queue.length >= this.maxQueue && this.maxQueue > 0) return this.reject();
    let got: { lease: string } | { ticket: string } | undefined;
    try {
      if (this.maxQueue > 0) got = await semaphore.acquireOrQueue();
      else {
        const lease = await semaphore.tryAcquire();
        got = lease === undefined ? undefined : { lease };
      }
    } catch (error) {
      throw this.unavailable(semaphore, error);
    }
    if (got === undefined) return this.reject();
    if ('lease' in got) {
      this.executing++;
      const permit = this.redisPermit(semaphore, got.lease);
      if (!signal?.aborted) return permit;
      permit.release();
      throw signal.reason;
    }
    const ticket = got.ticket;
    // Others may have joined this process's queue while the ticket was being taken.
    if (signal?.aborted || this.queue.length >= this.maxQueue) {
      semaphore.leave(ticket).catch(() => {}); // or it expires
      if (signal?.aborted) throw signal.reason;
      return this.reject();
    }
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        ticket,
        onAbort: () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          semaphore.leave(ticket).catch(() => {});
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      void this.pump();
    });
  }

  private reject(): never {
    this.rejectEmitter.emit({ maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue });
    throw new BulkheadRejectedError(this.maxConcurrent, this.maxQueue);
  }

  private unavailable(semaphore: RedisSemaphore, error: unknown): LimiterUnavailableError {
    return new LimiterUnavailableError(
      `Bulkhead semaphore "${semaphore.key}" unreachable in Redis`,
      {
        cause: error,
      },
    );
  }

  /** A permit if one is free now (counts it as executing), else undefined. */
  private async tryTake(): Promise<Permit | undefined> {
    if (!this.semaphore) {
      if (this.executing >= this.maxConcurrent) return undefined;
      this.executing++;
      return this.localPermit();
    }
    let leaseId: string | undefined;
    try {
      leaseId = await this.semaphore.tryAcquire();
    } catch (error) {
      throw this.unavailable(this.semaphore, error);
    }
    if (leaseId === undefined) return undefined;
    this.executing++;
    return this.redisPermit(this.semaphore, leaseId);
  }

  private localPermit(): Permit {
    let released = false;
    return {
      keepAlive: () => () => {},
      release: () => {
        if (released) return;
        released = true;
        this.executing--;
        void this.pump();
      },
    };
  }

  private redisPermit(semaphore: RedisSemaphore, leaseId: string): Permit {
    let released = false;
    return {
      keepAlive: () => {
        let cancel: (() => void) | undefined;
        let stopped = false;
        const renewEvery = Math.max(1, semaphore.leaseMs / 3);
        const tick = () => {
          semaphore.renew(leaseId).then(
            (alive) => {
              if (stopped) return;
              if (!alive) this.leaseLostEmitter.emit({ key: semaphore.key });
              else cancel = scheduleOn(this.clock, tick, renewEvery);
            },
            () => {
              if (!stopped) cancel = scheduleOn(this.clock, tick, renewEvery);
            },
          );
        };
        cancel = scheduleOn(this.clock, tick, renewEvery);
        return () => {
          stopped = true;
          cancel?.();
        };
      },
      release: () => {
        if (released) return;
        released = true;
        this.executing--;
        semaphore.release(leaseId).then(
          () => this.pump(),
          () => this.pump(), // the lease expires on its own
        );
      },
    };
  }

  /** Hands free places to queued calls, in order. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.repump = false;
        if (this.semaphore) {
          await this.pumpShared(this.semaphore);
          continue;
        }
        while (this.queue.length > 0) {
          let permit: Permit | undefined;
          try {
            permit = await this.tryTake();
          } catch (error) {
            for (const w of this.queue.splice(0)) this.settle(w, () => w.reject(error));
            break;
          }
          if (!permit) {
            this.schedulePoll();
            break;
          }
          const head = this.queue.shift();
          if (head) this.settle(head, () => head.resolve(permit));
          else permit.release();
        }
      } while (this.repump);
    } finally {
      this.pumping = false;
    }
  }

  /** With Redis: asks for this process's waiters' turns, in their cluster-wide ticket order. */
  private async pumpShared(semaphore: RedisSemaphore): Promise<void> {
    while (this.queue.length > 0) {
      const tickets = this.queue.map((w) => w.ticket as string);
      let granted: string[];
      try {
        granted = await semaphore.takeTurn(tickets);
      } catch (error) {
        const failure = this.unavailable(semaphore, error);
        for (const w of this.queue.splice(0)) {
          if (w.ticket) semaphore.leave(w.ticket).catch(() => {});
          this.settle(w, () => w.reject(failure));
        }
        return;
      }
      for (const lease of granted) {
        this.executing++;
        const permit = this.redisPermit(semaphore, lease);
        const index = this.queue.findIndex((w) => w.ticket === lease);
        const waiter = index >= 0 ? this.queue.splice(index, 1)[0] : undefined;
        // Aborted while its turn was being granted: the permit goes straight back.
        if (waiter) this.settle(waiter, () => waiter.resolve(permit));
        else permit.release();
      }
      if (granted.length === 0) {
        this.schedulePoll();
        return;
      }
    }
  }

  private settle(waiter: Waiter, action: () => void): void {
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    action();
  }

  /** With Redis, permits freed by other workers are only seen by asking again. */
  private schedulePoll(): void {
    if (!this.semaphore || this.cancelPoll) return;
    const delay = this.pollIntervalMs * (0.5 + Math.min(1, Math.max(0, this.random())));
    this.cancelPoll = scheduleOn(
      this.clock,
      () => {
        this.cancelPoll = undefined;
        void this.pump();
      },
      delay,
    );
  }
}

/** Creates a {@link BulkheadPolicy}. */
export function bulkheadPolicy(options: BulkheadPolicyOptions = {}): BulkheadPolicy {
  return new BulkheadPolicy(options);
}
