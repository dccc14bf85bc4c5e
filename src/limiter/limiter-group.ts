import type { Clock } from '../clock.js';
import { CostExceedsCapacityError } from '../errors/cost-exceeds-capacity-error.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { isLimiterUnavailableError } from '../errors/limiter-unavailable-error.js';
import { RateLimitExceededError } from '../errors/rate-limit-exceeded-error.js';
import { reportError } from '../events/safe-event-emitter.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import { MemoryStore } from '../stores/memory-store.js';
import type {
  AcquireOptions,
  Acquirer,
  Cost,
  Decision,
  LimiterMember,
  LimiterSnapshot,
} from './acquirer.js';
import { normaliseCosts, Permit } from './permit.js';
import { costUs, type Rate, unitsIn } from './rate.js';
import type { LimiterSpec, Look, ReserveOutcome, Store } from './store.js';
import { WakeQueue } from './wake-queue.js';

/**
 * Several limiters acquired all-or-nothing (RPM, input and output tokens; tenant and global):
 * either every member is charged, at the same start time, or none is. The wait is the longest
 * of the members'. All members must share one store, which is what makes it atomic.
 */
export class LimiterGroup implements Acquirer {
  readonly store: Store;
  readonly clock: Clock;
  private readonly specs: readonly LimiterSpec[];
  private readonly queue: WakeQueue;
  /** The µs of the last single cost asked, kept: most callers ask the same cost every time. */
  private lastCost = -1;
  private lastCosts: readonly number[] = [];
  private lastCostsUs: readonly number[] = [];
  private lastCostUs = 0;
  /** The one member and its store, when the group is a single limiter in process (the hot path). */
  private readonly soleInMemory:
    | { readonly store: MemoryStore; readonly spec: LimiterSpec; readonly rate: Rate }
    | undefined;

  constructor(readonly limiters: readonly LimiterMember[]) {
    if (!Array.isArray(limiters) || limiters.length === 0) {
      throw new InvalidArgumentError(
        'limiters',
        'an array of at least one limiter',
        limiters,
        'limiterGroup()',
      );
    }
    const first = limiters[0]!;
    this.store = first.store;
    this.clock = first.clock;
    const keys = new Set<string>();
    for (const limiter of limiters) {
      if (limiter.clock !== this.clock) {
        throw new InvalidArgumentError(
          'limiters',
          'limiters on one clock (the group starts every member at one time)',
          limiter.key,
          'limiterGroup()',
        );
      }
      if (limiter.store !== this.store) {
        throw new InvalidArgumentError(
          'limiters',
          'limiters that share one store (the group is acquired atomically there)',
          limiter.key,
          'limiterGroup()',
        );
      }
      if (keys.has(`${limiter.algorithm}:${limiter.key}`)) {
        throw new InvalidArgumentError('limiters', 'distinct keys', limiter.key, 'limiterGroup()');
      }
      keys.add(`${limiter.algorithm}:${limiter.key}`);
    }
    this.specs = limiters.map((l) => l.spec);
    this.queue = new WakeQueue(this.clock);
    this.soleInMemory =
      this.store instanceof MemoryStore && limiters.length === 1
        ? { store: this.store, spec: first.spec, rate: first.rate }
        : undefined;
  }

  async acquire(cost: Cost = 1, options: AcquireOptions = {}): Promise<Permit> {
    // On every call: a loop over the keys, the full check only when one is unknown.
    for (const key in options) {
      if (key !== 'signal' && key !== 'maxWaitMs') {
        checkKnownKeys(options, ACQUIRE_KEYS, 'acquire()', { aliases: { timeout: 'maxWaitMs' } });
      }
    }
    const { signal } = options;
    const maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    if (Number.isNaN(maxWaitMs) || maxWaitMs < 0) {
      throw new InvalidConfigError('maxWaitMs', 'a number >= 0', maxWaitMs);
    }
    const costs = this.checkedCosts(cost, 'acquire()');
    signal?.throwIfAborted();
    const firstAskedMs = this.clock.now();
    // The wait counts from when the store answered: a slow round trip can only make it later.
    // The in-process store answers at the instant it was asked.
    for (let askedMs = firstAskedMs; ; askedMs = this.clock.now()) {
      const leftMs = maxWaitMs - (askedMs - firstAskedMs);
      const maxWaitUs =
        leftMs === Number.POSITIVE_INFINITY
          ? Number.MAX_SAFE_INTEGER
          : Math.max(0, Math.floor(leftMs * 1000));
      const sync = this.reserveNow(costs, maxWaitUs, askedMs);
      // An abort that came during the round trip is what the caller hears, whatever the answer.
      const outcome = sync ?? (await this.reserveHearing(signal, costs, maxWaitUs));
      const answeredMs = sync ? askedMs : this.clock.now();
      if (!outcome.granted) {
        signal?.throwIfAborted();
        const { key } = this.limiters[outcome.index]!;
        throw new RateLimitExceededError(key, outcome.waitUs / 1000, maxWaitMs);
      }
      const permit = this.permit(outcome, costs, answeredMs, askedMs - firstAskedMs);
      if (outcome.waitUs === 0 && !signal?.aborted) return permit;
      let held: boolean;
      try {
        signal?.throwIfAborted();
        await this.queue.waitUntil(permit.startsAt, signal);
        held =
          this.store instanceof MemoryStore
            ? this.heldIn(this.store, costs)
            : await this.heldNow(costs);
        signal?.throwIfAborted();
      } catch (reason) {
        // The caller hears the abort at once; giving the slot back is the store's business and a
        // failure there only costs capacity (never over-admits), so it is reported, not thrown.
        permit.cancel().catch((error: unknown) => {
          reportError('giving an aborted reservation back failed', error);
        });
        // An abort during the look's round trip wins over its error, as over a reservation's.
        throw signal?.aborted ? signal.reason : reason;
      }
      if (!held) return permit;
      // A hold placed while this caller waited (a provider's 429 seen by any worker) covers its
      // slot: the slot is given back, as far as the schedule allows, and the caller queues again
      // behind the hold, paced like everyone else, instead of starting inside it.
      // Not awaited: the next reservation may only find the schedule later than it could have
      // (never over-admits), and an abort is heard at once rather than after the store answers.
      permit.cancel().catch((error: unknown) => {
        reportError('giving back a reservation inside a hold failed', error);
      });
      signal?.throwIfAborted();
    }
  }

  tryAcquire(cost: Cost = 1): Promise<Decision> {
    // The hot path (one limiter in process, one valid cost): the same steps as below without
    // the arrays and the checks' closures, which cost as much as the reservation itself.
    const sole = this.soleInMemory;
    if (
      sole !== undefined &&
      typeof cost === 'number' &&
      Number.isSafeInteger(cost) &&
      cost >= 0 &&
      cost <= sole.rate.burst
    ) {
      if (cost !== this.lastCost) this.singleCostUs(cost);
      const askedMs = this.clock.now();
      const outcome = sole.store.reserveOne(sole.spec, this.lastCostUs, 0, toUs(askedMs));
      return Promise.resolve(this.decideSole(outcome, sole.rate, askedMs));
    }
    return this.tryAcquireAny(cost);
  }

  /**
   * `tryAcquire` off the hot path: a group, another store, or a cost to check. Apart, so that the
   * hot path stays small enough for the compiler to inline what it calls.
   */
  private tryAcquireAny(cost: Cost): Promise<Decision> {
    let costs: number[];
    try {
      costs = this.checkedCosts(cost, 'tryAcquire()');
    } catch (error) {
      return Promise.reject(error);
    }
    const askedMs = this.clock.now();
    const outcome = this.reserveNow(costs, 0, askedMs);
    if (outcome) return Promise.resolve(this.decide(outcome, costs, askedMs));
    return this.reserve(costs, 0).then((o) => this.decide(o, costs, this.clock.now()));
  }

  /** Snapshots of every member. */
  inspect(): Promise<LimiterSnapshot[]> {
    return Promise.all(this.limiters.map((l) => l.inspect()));
  }

  /** `costs`: one per member, or the cost of a single limiter (just given to `singleCostUs`). */
  private decide(
    outcome: ReserveOutcome,
    costs: readonly number[] | number,
    answeredMs: number,
  ): Decision {
    const { rate } = this.limiters[outcome.index]!;
    const remaining = availableUnits(rate, outcome);
    const resetAfterMs = resetAfterMsOf(rate, outcome);
    if (!outcome.granted) {
      return { allowed: false, retryAfterMs: outcome.waitUs / 1000, remaining, resetAfterMs };
    }
    const permit = this.permit(
      outcome,
      typeof costs === 'number' ? this.lastCosts : costs,
      answeredMs,
    );
    return { allowed: true, retryAfterMs: 0, remaining, resetAfterMs, permit };
  }

  /**
   * `decide` for the single limiter of the hot path, with `lastCosts`: the same decision, with
   * the in-process store's figures (no time scale) read straight from the outcome.
   */
  private decideSole(outcome: ReserveOutcome, rate: Rate, answeredMs: number): Decision {
    const { freeUs } = outcome;
    const remaining = outcome.fifoUs > 0 ? 0 : Math.min(rate.burst, unitsIn(rate, freeUs));
    const resetAfterMs = (rate.capacityUs - Math.min(freeUs, rate.capacityUs)) / 1000;
    if (!outcome.granted) {
      return { allowed: false, retryAfterMs: outcome.waitUs / 1000, remaining, resetAfterMs };
    }
    // What `permit()` makes of an outcome granted at once (no wait: tryAcquire allows none), built
    // here: through the shared method, called with outcomes of several shapes, it cost a tenth of
    // the decision.
    const permit = new Permit(
      this.limiters,
      outcome.grants,
      this.lastCosts,
      0,
      answeredMs,
      this.limiters[0]!.key,
    );
    return { allowed: true, retryAfterMs: 0, remaining, resetAfterMs, permit };
  }

  /**
   * `costsUs([cost])` of a single limiter, and `[cost]` for its permits: the same frozen arrays
   * while the cost stays the same.
   */
  private singleCostUs(cost: number): readonly number[] {
    if (cost !== this.lastCost) {
      this.lastCosts = Object.freeze([cost]);
      this.lastCostsUs = Object.freeze([costUs(this.limiters[0]!.rate, cost)]);
      this.lastCostUs = this.lastCostsUs[0]!;
      this.lastCost = cost;
    }
    return this.lastCostsUs;
  }

  private permit(
    outcome: Extract<ReserveOutcome, { granted: true }>,
    costs: readonly number[],
    answeredMs: number,
    waitedBeforeMs = 0,
  ): Permit {
    const waitMs = outcome.waitUs / 1000;
    const bindingKey = this.limiters[outcome.index]!.key;
    // In whole µs, like every limiter figure (the clock part may read fractions of a µs).
    const waitedMs = (Math.round(waitedBeforeMs * 1000) + outcome.waitUs) / 1000;
    return new Permit(
      this.limiters,
      outcome.grants,
      costs,
      waitedMs,
      answeredMs + waitMs,
      bindingKey,
    );
  }

  /** `heldNow` on the in-process store, without a promise. */
  private heldIn(store: MemoryStore, costs: readonly number[]): boolean {
    return this.limiters.some(
      (limiter, i) => costs[i] !== 0 && store.lookSync(limiter.spec, limiter.nowUs()).heldUs > 0,
    );
  }

  /**
   * Whether a hold is running on a member this call is charged on. Read when a caller wakes, so
   * a hold placed by any worker after the reservation reaches it. An unavailable store counts as
   * no hold: the reservation was made, and the outage policy governs what comes next.
   */
  private async heldNow(costs: readonly number[]): Promise<boolean> {
    const looks = await Promise.all(
      this.limiters.map((limiter, i) =>
        costs[i] === 0
          ? undefined
          : this.store.look(limiter.spec, limiter.nowUs()).catch((error: unknown) => {
              if (isLimiterUnavailableError(error)) return undefined;
              throw error;
            }),
      ),
    );
    return looks.some((look) => look !== undefined && look.heldUs > 0);
  }

  /**
   * `reserve`, where an abort during the round trip wins over an error; no extra promise when
   * there is no signal.
   */
  private reserveHearing(
    signal: AbortSignal | undefined,
    costs: readonly number[],
    maxWaitUs: number,
  ): Promise<ReserveOutcome> {
    const reserved = this.reserve(costs, maxWaitUs);
    if (!signal) return reserved;
    return reserved.catch((error: unknown) => {
      signal.throwIfAborted();
      throw error;
    });
  }

  private costsUs(costs: readonly number[]): number[] {
    const out = new Array<number>(costs.length);
    for (let i = 0; i < costs.length; i++) out[i] = costUs(this.limiters[i]!.rate, costs[i]!);
    return out;
  }

  /** The in-process store answers synchronously: no promise on the hot path. */
  private reserveNow(
    costs: readonly number[],
    maxWaitUs: number,
    nowMs: number,
  ): ReserveOutcome | undefined {
    if (!(this.store instanceof MemoryStore)) return undefined;
    return this.store.reserveSync(this.specs, this.costsUs(costs), maxWaitUs, toUs(nowMs));
  }

  private reserve(costs: readonly number[], maxWaitUs: number): Promise<ReserveOutcome> {
    return this.store.reserve(
      this.specs,
      this.costsUs(costs),
      maxWaitUs,
      this.limiters[0]!.nowUs(),
    );
  }

  private checkedCosts(cost: Cost, where: string): number[] {
    const costs = normaliseCosts(cost, this.limiters.length, (expected, received) => {
      return new InvalidArgumentError('cost', expected, received, where);
    });
    for (let i = 0; i < costs.length; i++) {
      const { rate, key } = this.limiters[i]!;
      if (costs[i]! > rate.burst) throw new CostExceedsCapacityError(key, costs[i]!, rate.burst);
    }
    return costs;
  }
}

const ACQUIRE_KEYS = optionKeys<AcquireOptions>({ signal: true, maxWaitMs: true });

/**
 * Units admissible at once: none while an earlier grant has yet to start (FIFO), otherwise what
 * `freeUs` of schedule holds. The capacity is rounded up to whole µs, so with an emission
 * interval under 1 µs it holds more than `burst` units; no cost above `burst` is ever admitted,
 * so that is the cap.
 */
export function availableUnits(
  rate: Rate,
  { freeUs, fifoUs }: Pick<Look, 'freeUs' | 'fifoUs'>,
): number {
  return fifoUs > 0 ? 0 : Math.min(rate.burst, unitsIn(rate, freeUs));
}

/**
 * ms until one unit is admissible at once, and until the limiter is full, from a member's free
 * schedule (on a store's time scale: a local share refills n times slower, and is full at 1/n,
 * rounded down in whole µs as the share rounds its `freeUs`).
 */
export function timesOf(
  rate: Rate,
  look: Pick<Look, 'freeUs' | 'fifoUs' | 'timeScale'>,
): { retryAfterMs: number; resetAfterMs: number } {
  const { freeUs, fifoUs, timeScale = 1 } = look;
  return {
    retryAfterMs: Math.max(0, (costUs(rate, 1) - freeUs) * timeScale, fifoUs) / 1000,
    resetAfterMs: resetAfterMsOf(rate, look),
  };
}

/** `timesOf(...).resetAfterMs` alone, without the object (a decision needs only this one). */
function resetAfterMsOf(
  rate: Rate,
  { freeUs, timeScale = 1 }: Pick<Look, 'freeUs' | 'timeScale'>,
): number {
  const fullUs = Math.floor(rate.capacityUs / timeScale);
  return ((fullUs - Math.min(freeUs, fullUs)) * timeScale) / 1000;
}

/** A clock reading in whole µs. */
export function toUs(ms: number): number {
  return Math.floor(ms * 1000);
}
