import { type Clock, systemClock } from '../clock.js';
import { CostExceedsCapacityError } from '../errors/cost-exceeds-capacity-error.js';
import { InvalidLimiterConfigError } from '../errors/invalid-limiter-config-error.js';
import { RateLimitExceededError } from '../errors/rate-limit-exceeded-error.js';
import { reportError } from '../events/safe-event-emitter.js';
import type { AlgorithmName } from './algorithms.js';
import { MemoryStore } from './memory-store.js';
import { costUs, type Rate, unitsIn } from './rate.js';
import type { Grant, LimiterSpec, Look, ReserveOutcome, Store } from './store.js';
import { WakeQueue } from './wake-queue.js';

/** Longest hold, in µs: a quarter of the safe integer range, as in rate.ts. */
const MAX_HOLD_US = Math.floor(Number.MAX_SAFE_INTEGER / 4);

/** Options of `acquire`. */
export interface AcquireOptions {
  /** Aborting rejects the wait at once with the signal's reason and gives the reservation back. */
  signal?: AbortSignal;
  /**
   * Longest acceptable wait, in ms. A slot further away is not reserved: `RateLimitExceededError`
   * is thrown at once and nothing is consumed.
   * @default Infinity (a reservation's wait is always finite)
   */
  maxWaitMs?: number;
}

/** Outcome of `tryAcquire`: a value, never an exception, for "not now". */
export interface Decision {
  readonly allowed: boolean;
  /** ms until this cost could be admitted at once (0 when allowed). */
  readonly retryAfterMs: number;
  /** Units still admissible at once after this decision (in a group: of the member with the longest wait, or the first). */
  readonly remaining: number;
  /** ms until that limiter is full again. */
  readonly resetAfterMs: number;
  /** Present when allowed: settle or cancel what was taken. */
  readonly permit?: Permit;
}

/** What one limiter looks like now. JSON-safe. */
export interface LimiterSnapshot {
  readonly key: string;
  readonly name: string;
  readonly algorithm: AlgorithmName;
  /** Units per period. */
  readonly limit: number;
  readonly periodMs: number;
  /** Units admissible at one instant. */
  readonly burst: number;
  /** Units admissible at once now (0 while reservations run ahead). */
  readonly available: number;
  /** ms until one unit is admissible at once. */
  readonly retryAfterMs: number;
  /** ms until the limiter is full again. */
  readonly resetAfterMs: number;
}

/** Costs for a single limiter (a number) or a group (one per member, or one for all). */
export type Cost = number | readonly number[];

/** What `rateLimitPolicy` and users call: a single limiter or a group. */
export interface Acquirer {
  /** Reserves the earliest slot for `cost` and resolves when it starts. */
  acquire(cost?: Cost, options?: AcquireOptions): Promise<Permit>;
  /** Takes `cost` if it is admissible at once; never waits. */
  tryAcquire(cost?: Cost): Promise<Decision>;
  /** The limiters, outermost first (one for a single limiter). */
  readonly limiters: readonly Limiter[];
}

/** A reservation that was granted. Settle or cancel it at most once; later calls do nothing. */
export class Permit {
  private open = true;

  /** @internal */
  constructor(
    private readonly members: readonly Limiter[],
    private readonly grants: readonly Grant[],
    /** Costs reserved, one per limiter. */
    readonly costs: readonly number[],
    /** ms the caller was told to wait for its slot. */
    readonly waitedMs: number,
    /** Clock time (ms) at which the slot starts. */
    readonly startsAt: number,
    /** Key of the limiter that set the wait (the first one when none waited). */
    readonly bindingKey: string,
  ) {}

  /**
   * Replaces the reserved cost with the real one once known (for example output tokens from the
   * response's usage): refunds or charges the difference. A number applies to every limiter.
   */
  async settle(actual: Cost): Promise<void> {
    const actuals = normaliseCosts(actual, this.members.length, 'actualCost');
    if (!this.open) return;
    this.open = false;
    await Promise.all(
      this.members.map((limiter, i) => {
        const grant = this.grants[i]!;
        const delta = costUs(limiter.rate, actuals[i]!) - grant.costUs;
        if (delta < 0) return limiter.store.refund(limiter.spec, grant, -delta, limiter.nowUs());
        if (delta > 0) return limiter.store.charge(limiter.spec, delta, limiter.nowUs());
        return undefined;
      }),
    );
  }

  /** Gives the whole reservation back (the call was not made). */
  async cancel(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await Promise.all(
      this.members.map((limiter, i) => {
        const grant = this.grants[i]!;
        // The whole span: in a group that waited on another member, this member's schedule
        // moved by more than the cost, and nothing ran.
        return limiter.store.refund(limiter.spec, grant, grant.spanUs, limiter.nowUs());
      }),
    );
  }
}

/** Construction options shared by every limiter. */
export interface LimiterBaseOptions {
  /** Budget name; keys sharing a store and a name share the budget. */
  key: string;
  /** Short label for snapshots and events (e.g. 'rpm', 'itpm'). @default the key */
  name?: string;
  /** Where the state lives. @default a MemoryStore private to this limiter */
  store?: Store;
  /** Time source. @default systemClock */
  clock?: Clock;
}

/**
 * One rate limit on one key. Build it with `gcra()` or `tokenBucket()`; the algorithm only
 * changes how the state is encoded, the admission rule is the same.
 */
export class Limiter implements Acquirer {
  readonly key: string;
  readonly name: string;
  readonly store: Store;
  readonly clock: Clock;
  /** @internal */
  readonly spec: LimiterSpec;
  readonly limiters: readonly Limiter[];
  private readonly group: LimiterGroup;

  /** @internal use gcra() or tokenBucket() */
  constructor(
    algorithm: AlgorithmName,
    readonly rate: Rate,
    options: LimiterBaseOptions,
  ) {
    if (typeof options.key !== 'string' || options.key.length === 0) {
      throw new InvalidLimiterConfigError('key', 'a non-empty string', options.key);
    }
    this.key = options.key;
    this.name = options.name ?? options.key;
    this.store = options.store ?? new MemoryStore();
    this.clock = options.clock ?? systemClock;
    this.spec = { key: this.key, algorithm, rate };
    this.limiters = [this];
    this.group = new LimiterGroup(this.limiters);
  }

  get algorithm(): AlgorithmName {
    return this.spec.algorithm;
  }

  acquire(cost: Cost = 1, options?: AcquireOptions): Promise<Permit> {
    return this.group.acquire(cost, options);
  }

  tryAcquire(cost: Cost = 1): Promise<Decision> {
    return this.group.tryAcquire(cost);
  }

  /**
   * No slot reserved from now on starts before `untilMs` (clock time); the limiter refills from
   * empty from then on. For a provider's 429 with Retry-After, or rate-limit headers at 0.
   * Callers already waiting keep the slots they were given.
   */
  async hold(untilMs: number): Promise<void> {
    await this.holdFor(untilMs - this.clock.now());
  }

  /** Like `hold`, with a delay from now in ms. */
  async holdFor(delayMs: number): Promise<void> {
    // The same exact range rate.ts keeps every schedule in (about 71 years).
    if (!Number.isFinite(delayMs) || delayMs * 1000 > MAX_HOLD_US) {
      throw new InvalidLimiterConfigError(
        'delayMs',
        `a finite number of ms up to ${MAX_HOLD_US / 1000}`,
        delayMs,
      );
    }
    if (delayMs <= 0) return;
    await this.store.hold(this.spec, Math.ceil(delayMs * 1000), this.nowUs());
  }

  async inspect(): Promise<LimiterSnapshot> {
    const look = await this.store.look(this.spec, this.nowUs());
    const { freeUs } = look;
    const { rate } = this;
    return {
      key: this.key,
      name: this.name,
      algorithm: this.algorithm,
      limit: rate.limit,
      periodMs: rate.periodUs / 1000,
      burst: rate.burst,
      available: availableUnits(rate, look),
      retryAfterMs: Math.max(0, costUs(rate, 1) - freeUs, look.fifoUs) / 1000,
      resetAfterMs: (rate.capacityUs - Math.min(freeUs, rate.capacityUs)) / 1000,
    };
  }

  /** @internal the clock in whole µs */
  nowUs(): number {
    return toUs(this.clock.now());
  }
}

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

  constructor(readonly limiters: readonly Limiter[]) {
    if (limiters.length === 0) {
      throw new InvalidLimiterConfigError('limiters', 'at least one limiter', 0);
    }
    const first = limiters[0]!;
    this.store = first.store;
    this.clock = first.clock;
    const keys = new Set<string>();
    for (const limiter of limiters) {
      if (limiter.store !== this.store) {
        throw new InvalidLimiterConfigError(
          'limiters',
          'limiters that share one store (the group is acquired atomically there)',
          limiter.key,
        );
      }
      if (keys.has(`${limiter.algorithm}:${limiter.key}`)) {
        throw new InvalidLimiterConfigError('limiters', 'distinct keys', limiter.key);
      }
      keys.add(`${limiter.algorithm}:${limiter.key}`);
    }
    this.specs = limiters.map((l) => l.spec);
    this.queue = new WakeQueue(this.clock);
  }

  async acquire(cost: Cost = 1, options: AcquireOptions = {}): Promise<Permit> {
    const { signal } = options;
    const maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    if (Number.isNaN(maxWaitMs) || maxWaitMs < 0) {
      throw new InvalidLimiterConfigError('maxWaitMs', 'a number >= 0', maxWaitMs);
    }
    const costs = this.checkedCosts(cost);
    signal?.throwIfAborted();
    const maxWaitUs =
      maxWaitMs === Number.POSITIVE_INFINITY
        ? Number.MAX_SAFE_INTEGER
        : Math.floor(maxWaitMs * 1000);
    // The wait counts from when the store answered: a slow round trip can only make it later.
    // The in-process store answers at the instant it was asked.
    const askedMs = this.clock.now();
    const sync = this.reserveNow(costs, maxWaitUs, askedMs);
    const outcome = sync ?? (await this.reserve(costs, maxWaitUs));
    const answeredMs = sync ? askedMs : this.clock.now();
    if (!outcome.granted) {
      const { key } = this.limiters[outcome.index]!;
      throw new RateLimitExceededError(key, outcome.waitUs / 1000, maxWaitMs);
    }
    const permit = this.permit(outcome, costs, answeredMs);
    if (outcome.waitUs === 0 && !signal?.aborted) return permit;
    try {
      signal?.throwIfAborted();
      await this.queue.waitUntil(permit.startsAt, signal);
    } catch (reason) {
      // The caller hears the abort at once; giving the slot back is the store's business and a
      // failure there only costs capacity (never over-admits), so it is reported, not thrown.
      permit.cancel().catch((error: unknown) => {
        reportError('giving an aborted reservation back failed', error);
      });
      throw reason;
    }
    return permit;
  }

  tryAcquire(cost: Cost = 1): Promise<Decision> {
    let costs: number[];
    try {
      costs = this.checkedCosts(cost);
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

  private decide(outcome: ReserveOutcome, costs: readonly number[], answeredMs: number): Decision {
    const { rate } = this.limiters[outcome.index]!;
    const remaining = availableUnits(rate, outcome);
    const resetAfterMs = (rate.capacityUs - Math.min(outcome.freeUs, rate.capacityUs)) / 1000;
    if (!outcome.granted) {
      return { allowed: false, retryAfterMs: outcome.waitUs / 1000, remaining, resetAfterMs };
    }
    const permit = this.permit(outcome, costs, answeredMs);
    return { allowed: true, retryAfterMs: 0, remaining, resetAfterMs, permit };
  }

  private permit(
    outcome: Extract<ReserveOutcome, { granted: true }>,
    costs: readonly number[],
    answeredMs: number,
  ): Permit {
    const waitedMs = outcome.waitUs / 1000;
    const bindingKey = this.limiters[outcome.index]!.key;
    return new Permit(
      this.limiters,
      outcome.grants,
      costs,
      waitedMs,
      answeredMs + waitedMs,
      bindingKey,
    );
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

  private checkedCosts(cost: Cost): number[] {
    const costs = normaliseCosts(cost, this.limiters.length, 'cost');
    for (let i = 0; i < costs.length; i++) {
      const { rate, key } = this.limiters[i]!;
      if (costs[i]! > rate.burst) throw new CostExceedsCapacityError(key, costs[i]!, rate.burst);
    }
    return costs;
  }
}

/**
 * Units admissible at once: none while an earlier grant has yet to start (FIFO), otherwise what
 * `freeUs` of schedule holds. The capacity is rounded up to whole µs, so with an emission
 * interval under 1 µs it holds more than `burst` units; no cost above `burst` is ever admitted,
 * so that is the cap.
 */
function availableUnits(rate: Rate, { freeUs, fifoUs }: Look): number {
  return fifoUs > 0 ? 0 : Math.min(rate.burst, unitsIn(rate, freeUs));
}

/** A clock reading in whole µs. */
function toUs(ms: number): number {
  return Math.floor(ms * 1000);
}

function normaliseCosts(cost: Cost, members: number, option: string): number[] {
  const costs =
    typeof cost !== 'number'
      ? [...cost]
      : members === 1
        ? [cost]
        : new Array<number>(members).fill(cost);
  if (costs.length !== members) {
    throw new InvalidLimiterConfigError(option, `one cost per limiter (${members})`, costs.length);
  }
  for (const c of costs) {
    if (!Number.isSafeInteger(c) || c < 0) {
      throw new InvalidLimiterConfigError(option, 'a non-negative integer', c);
    }
  }
  return costs;
}
