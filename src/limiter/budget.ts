import { type Clock, scheduleOn, systemClock } from '../clock.js';
import { CostExceedsCapacityError } from '../errors/cost-exceeds-capacity-error.js';
import { isInvalidConfigError } from '../errors/invalid-config-error.js';
import { InvalidLimiterConfigError } from '../errors/invalid-limiter-config-error.js';
import { RateLimitExceededError } from '../errors/rate-limit-exceeded-error.js';
import { reportError } from '../events/safe-event-emitter.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import { MemoryBudgetStore } from '../stores/memory-budget-store.js';
import type { AcquireOptions } from './acquirer.js';
import { shiftedStart } from './bucket-queue.js';
import { BudgetPermit } from './budget-permit.js';
import type { BudgetSpec, BudgetStore, QueueChange, TicketPlan } from './budget-store.js';
import { costUs, makeRate, type Rate, rateUnits, unitsIn } from './rate.js';
import { ShiftBatch } from './shift-batch.js';

/** One dimension of a budget: requests, input tokens, output tokens... per period. */
export interface BudgetDimension {
  /** Label in snapshots and events ('rpm', 'itpm', 'otpm', 'tpm'...). */
  readonly name: string;
  /** Store key; budgets sharing a store and a key share the quota. */
  readonly key: string;
  /** Units per period. */
  readonly limit: number;
  /** @default 60_000 (a minute) */
  readonly periodMs?: number;
  /** Units admissible at one instant (the bucket's size). @default limit */
  readonly burst?: number;
  /**
   * Longest time a start takes to reach the provider, in ms: a start on a full bucket counts the
   * refill of that time as lost, as it is at the provider (bucket-queue.ts `chargedEnd`).
   * @default 0
   */
  readonly arrivalLagMs?: number;
}

const BUDGET_KEYS = optionKeys<BudgetOptions>({ dimensions: true, store: true, clock: true });
const DIMENSION_KEYS = optionKeys<BudgetDimension>({
  name: true,
  key: true,
  limit: true,
  periodMs: true,
  burst: true,
  arrivalLagMs: true,
});

/** A dimension with its defaults applied. */
export interface ResolvedDimension extends Required<BudgetDimension> {
  readonly rate: Rate;
  /**
   * Units per unit of `rate`: 1, or a power of ten where limit x period is too large for exact
   * µs arithmetic (OpenAI's 40M+ tokens a minute). Charges round up to it, credits down.
   */
  readonly unit: number;
}

/**
 * The rate of `limit` units (and `burst`) per `periodUs`, in the finest unit (1, 10, 100...)
 * whose arithmetic stays exact. A coarser unit changes admissions by less than one unit.
 */
function rateInUnits(
  limit: number,
  periodUs: number,
  burst: number,
  unit?: number,
): { rate: Rate; unit: number } {
  if (unit !== undefined) {
    const rate = makeRate(
      Math.max(1, Math.floor(limit / unit)),
      periodUs,
      Math.max(1, Math.floor(burst / unit)),
    );
    return { rate, unit };
  }
  for (let u = 1; ; u *= 10) {
    try {
      return rateInUnits(limit, periodUs, burst, u);
    } catch (error) {
      // Only the exactness bound is worth a coarser unit; a bad value is refused as it is.
      const tooLarge = isInvalidConfigError(error) && error.option === 'burst' && u < limit;
      if (!tooLarge || u >= 1e9) throw error;
    }
  }
}

export interface BudgetOptions {
  readonly dimensions: readonly BudgetDimension[];
  /** Where the queues live. @default one MemoryBudgetStore shared by the process */
  readonly store?: BudgetStore;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** What one dimension looks like now. JSON-safe. */
export interface BudgetDimensionSnapshot {
  readonly name: string;
  readonly key: string;
  readonly limit: number;
  readonly periodMs: number;
  readonly burst: number;
  /** Units admissible at once now (0 while the queue runs ahead). */
  readonly available: number;
  /** ms until one unit is admissible at once. */
  readonly retryAfterMs: number;
  /** Reservations waiting in the queue of this key (all workers). */
  readonly queued: number;
  /** Clock time (ms) the latest hold ends, when one runs. */
  readonly heldUntil?: number;
}

/** Outcome of `tryAcquire`: a value for "not now". */
export interface BudgetDecision {
  readonly allowed: boolean;
  /** ms until these costs could start (0 when allowed). */
  readonly retryAfterMs: number;
  readonly permit?: BudgetPermit;
}

const sharedMemoryStore = new MemoryBudgetStore();

/** A member's reservation as a waiter tracks it. */
interface MemberPlan {
  readonly seq: number;
  readonly queued: boolean;
  /** Planned start on this key, clock time in ms. */
  readonly startMs: number;
  readonly version: number;
}

interface Waiter {
  readonly permit: BudgetPermit;
  plans: MemberPlan[];
  /** Clock time (ms) of the latest start acceptable to the caller. */
  readonly deadlineMs: number;
  /** A claim is on its way to the store. */
  claiming: boolean;
  /** A shift was missed: the plan cannot be trusted, ask the store at once. */
  stale: boolean;
  /** The store dropped the reservation. */
  lost: boolean;
  readonly settle: (outcome: { ok: true } | { ok: false; error: unknown }) => void;
}

/** Shifts kept per key for waiters whose reservation answer arrives after a shift it missed. */
const RECENT_SHIFTS = 64;

/**
 * A provider budget: several dimensions (RPM, ITPM, OTPM; tenant and global) charged together,
 * all or nothing, with the accounting of the provider's own bucket: a call is charged when it
 * starts and settled when it ends, and what a settle gives back moves the callers already waiting
 * forward, in FIFO order, in every worker sharing the store (bucket-queue.ts).
 */
export class Budget {
  readonly store: BudgetStore;
  readonly clock: Clock;
  /** The dimensions as they stand now (`setLimit` replaces one). */
  get dimensions(): readonly ResolvedDimension[] {
    return this.resolved;
  }
  private readonly resolved: ResolvedDimension[];
  /** @internal */
  readonly specs: BudgetSpec[];
  /** Waiting callers of this process, in the order of their reservations. */
  private readonly waiters = new Set<Waiter>();
  private unwatch: (() => void) | undefined;
  /** Reservations of this process on their way to the store. */
  private reserving = 0;
  /** An `arm` is queued for the end of this tick. */
  private armPending = false;
  /** The one timer of the budget, armed for the earliest planned start. */
  private disarm: (() => void) | undefined;
  private armedAtMs = Number.POSITIVE_INFINITY;
  /** Recent shifts per member, newest last. */
  private readonly recent: QueueChange['shift'][][];
  /** Shifts per member not yet applied to the waiters' plans (all at once, before the next arm). */
  private pending: QueueChange['shift'][][];
  private pendingShifts = 0;
  /**
   * Waiters per abort signal, with one listener per signal: a listener each made every
   * `addEventListener` scan the signal's listeners (Node checks for duplicates), quadratic in the
   * callers sharing a signal.
   */
  private readonly bySignal = new Map<
    AbortSignal,
    { readonly waiters: Set<Waiter>; readonly onAbort: () => void }
  >();

  constructor(options: BudgetOptions) {
    checkKnownKeys(options, BUDGET_KEYS, 'new Budget()', { required: true });
    const dims = options?.dimensions;
    if (!Array.isArray(dims) || dims.length === 0) {
      throw new InvalidLimiterConfigError('dimensions', 'at least one dimension', dims);
    }
    const keys = new Set<string>();
    this.resolved = dims.map((d, i) => {
      checkKnownKeys(d, DIMENSION_KEYS, 'new Budget()', {
        path: `dimensions[${i}]`,
        required: true,
      });
      if (typeof d.key !== 'string' || d.key.length === 0) {
        throw new InvalidLimiterConfigError('key', 'a non-empty string', d.key);
      }
      if (keys.has(d.key)) throw new InvalidLimiterConfigError('key', 'distinct keys', d.key);
      keys.add(d.key);
      const periodMs = d.periodMs ?? 60_000;
      if (!Number.isFinite(periodMs) || periodMs <= 0) {
        throw new InvalidLimiterConfigError('periodMs', 'a positive number of ms', periodMs);
      }
      const { rate, unit } = rateInUnits(d.limit, Math.round(periodMs * 1000), d.burst ?? d.limit);
      const arrivalLagMs = d.arrivalLagMs ?? 0;
      if (!(Number.isFinite(arrivalLagMs) && arrivalLagMs >= 0)) {
        throw new InvalidLimiterConfigError(
          'arrivalLagMs',
          'a finite number of ms >= 0',
          arrivalLagMs,
        );
      }
      return { ...d, periodMs, burst: rate.burst * unit, arrivalLagMs, rate, unit };
    });
    this.specs = this.resolved.map((d) => ({
      key: d.key,
      rate: d.rate,
      lagUs: Math.round(d.arrivalLagMs * 1000),
      unit: d.unit,
    }));
    this.recent = this.specs.map(() => []);
    this.pending = this.specs.map(() => []);
    this.store = options.store ?? sharedMemoryStore;
    this.clock = options.clock ?? systemClock;
  }

  /** Reservations of this budget waiting in this process. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Reserves `costs` (one per dimension, in units) at the earliest start the queue gives and
   * resolves when it starts. A settle anywhere that frees capacity brings the start forward. A
   * caller still waiting after `maxWaitMs` gives its place back and gets
   * `RateLimitExceededError` (the planned start is not used to refuse earlier: it is planned on
   * reservations, and the settles of calls ahead usually bring it forward).
   */
  async acquire(costs: readonly number[], options: AcquireOptions = {}): Promise<BudgetPermit> {
    const { signal } = options;
    const maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    if (Number.isNaN(maxWaitMs) || maxWaitMs < 0) {
      throw new InvalidLimiterConfigError('maxWaitMs', 'a number >= 0', maxWaitMs);
    }
    const units = this.checkedCosts(costs);
    signal?.throwIfAborted();
    const askedMs = this.clock.now();
    const costsUs = this.costsUs(units);
    // In process, listen before reserving: a settle between the store's answer and this caller's
    // wait must reach its plan (catchUp), not be missed until its planned start. A remote store
    // is not subscribed per call (a connection each time): its resync after subscribing makes
    // a waiter whose plan is older than the key's version claim at once.
    this.reserving++;
    if (this.inProcess) this.watchKeys();
    const askedUs = this.nowUs();
    let outcome: Awaited<ReturnType<BudgetStore['reserve']>>;
    try {
      outcome = await this.store.reserve(this.specs, costsUs, Number.MAX_SAFE_INTEGER, askedUs);
    } catch (error) {
      this.reserving--;
      this.unwatchIfIdle();
      throw error;
    }
    this.reserving--;
    const queued = outcome.granted && outcome.plans.some((p) => p.queued);
    if (!queued) this.unwatchIfIdle();
    if (!outcome.granted) {
      // Unreachable with an unbounded wait; a store that refuses anyway is answered in kind.
      signal?.throwIfAborted();
      const { key } = this.dimensions[outcome.index]!;
      throw new RateLimitExceededError(key, outcome.waitUs / 1000, maxWaitMs);
    }
    const answeredMs = this.answeredAt(askedUs);
    const permit = new BudgetPermit(this, outcome.plans, units, costsUs, askedMs);
    permit.chargedLag(outcome.lagsUs, askedUs);
    if (signal?.aborted) {
      this.giveBack(permit);
      this.unwatchIfIdle();
      throw signal.reason;
    }
    if (!queued) return permit.started(answeredMs);
    const plans = outcome.plans.map((p, i) => this.catchUp(i, toMemberPlan(p, answeredMs)));
    const started = await this.waitFor(permit, plans, askedMs + maxWaitMs, signal);
    if (started) return permit.started(this.clock.now());
    // The store dropped the reservation (this worker missed its start): queue again.
    return this.acquire(units, {
      ...(signal ? { signal } : {}),
      maxWaitMs: Math.max(0, askedMs + maxWaitMs - this.clock.now()),
    });
  }

  /** Takes `costs` if they can start at once; never waits, never queues. */
  async tryAcquire(costs: readonly number[]): Promise<BudgetDecision> {
    const units = this.checkedCosts(costs);
    const askedMs = this.clock.now();
    const costsUs = this.costsUs(units);
    const askedUs = this.nowUs();
    const outcome = await this.store.reserve(this.specs, costsUs, 0, askedUs);
    if (!outcome.granted) return { allowed: false, retryAfterMs: outcome.waitUs / 1000 };
    const permit = new BudgetPermit(this, outcome.plans, units, costsUs, askedMs);
    permit.chargedLag(outcome.lagsUs, askedUs);
    return { allowed: true, retryAfterMs: 0, permit: permit.started(askedMs) };
  }

  /**
   * A provider's 429 on dimension `name`: a request costing `cost` units fits no sooner than in
   * `delayMs` (its retry-after). The dimension comes down to that for every worker sharing it,
   * and callers already waiting queue behind it in their order. With `cost` 0 the dimension is
   * empty at the end of the delay.
   */
  async holdFor(name: string, delayMs: number, cost = 0): Promise<void> {
    const index = this.indexOf(name);
    if (!Number.isFinite(delayMs)) {
      throw new InvalidLimiterConfigError('delayMs', 'a finite number of ms', delayMs);
    }
    if (!Number.isSafeInteger(cost) || cost < 0) {
      throw new InvalidLimiterConfigError('cost', 'a non-negative integer', cost);
    }
    if (delayMs <= 0) return;
    const d = this.dimensions[index]!;
    await this.store.hold(
      this.specs[index]!,
      Math.ceil(delayMs * 1000),
      costUs(d.rate, Math.min(rateUnits(d, cost), d.rate.burst)),
      this.nowUs(),
    );
  }

  /**
   * The provider has `remaining` units of dimension `name` now (its rate-limit headers): if this
   * budget believes in more, it comes down to that, less the key's estimate of what others spend
   * before the next figure (which this figure updates; `BudgetPermit.settle`), for every worker
   * sharing the key; waiting callers move back in their order. Never raises the budget. Resolves
   * to the estimate after this figure, in units (undefined when the store could not tell).
   */
  async lowerTo(name: string, remaining: number): Promise<number | undefined> {
    const index = this.indexOf(name);
    if (!Number.isSafeInteger(remaining) || remaining < 0) {
      throw new InvalidLimiterConfigError('remaining', 'a non-negative integer', remaining);
    }
    const leftUs = this.specs.map((_, i) => (i === index ? this.leftUs(index, remaining) : -1));
    const outsideUs = await this.store.adjust(
      this.specs,
      this.specs.map(() => 0),
      this.nowUs(),
      leftUs,
    );
    return outsideUs && this.unitsOfUs(index, outsideUs[index]!);
  }

  /**
   * @internal µs of schedule that `remaining` units of dimension `index` occupy (capped by the
   * burst), for lowering the bucket to them; -1 when `remaining` is not a count.
   */
  leftUs(index: number, remaining: number | undefined): number {
    if (remaining === undefined || !Number.isSafeInteger(remaining) || remaining < 0) return -1;
    const d = this.resolved[index]!;
    return costUs(d.rate, Math.min(Math.floor(remaining / d.unit), d.rate.burst));
  }

  /** @internal units of dimension `index` that `us` µs of schedule hold (signed, rounded down in size) */
  unitsOfUs(index: number, us: number): number {
    const d = this.resolved[index]!;
    return Math.sign(us) * unitsIn(d.rate, Math.abs(us)) * d.unit;
  }

  /**
   * Changes dimension `name`'s limit (per the same period) from now on: a provider whose headers
   * report a lower limit than configured, an adaptive rate. The key's schedule is kept; its unit
   * changes (a bucket as full as before in time is as full in share). The burst follows the
   * limit when it was the limit. Every budget sharing the key should use the same limit.
   */
  setLimit(name: string, limit: number): void {
    const index = this.indexOf(name);
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidLimiterConfigError('limit', 'a positive integer', limit);
    }
    const d = this.resolved[index]!;
    if (limit === d.limit) return;
    const burst = d.burst === d.limit ? limit : Math.min(d.burst, limit);
    const { rate } = rateInUnits(limit, Math.round(d.periodMs * 1000), burst, d.unit);
    this.resolved[index] = { ...d, limit, burst: rate.burst * d.unit, rate };
    this.specs[index] = { ...this.specs[index]!, rate };
  }

  async inspect(): Promise<BudgetDimensionSnapshot[]> {
    const nowMs = this.clock.now();
    return Promise.all(
      this.dimensions.map(async (d, i) => {
        const look = await this.store.look(this.specs[i]!, this.nowUs());
        const oneUs = costUs(d.rate, 1);
        return {
          name: d.name,
          key: d.key,
          limit: d.limit,
          periodMs: d.periodMs,
          burst: d.burst,
          available:
            look.queued > 0 ? 0 : Math.min(d.rate.burst, unitsIn(d.rate, look.freeUs)) * d.unit,
          retryAfterMs: Math.ceil(Math.max(0, oneUs - look.freeUs) / 1000),
          queued: look.queued,
          ...(look.heldUs > 0 ? { heldUntil: Math.round(nowMs + look.heldUs / 1000) } : {}),
        };
      }),
    );
  }

  /** @internal the clock in whole µs */
  nowUs(): number {
    return Math.floor(this.clock.now() * 1000);
  }

  /** @internal index of a dimension by name */
  indexOf(name: string): number {
    const index = this.dimensions.findIndex((d) => d.name === name);
    if (index < 0) {
      throw new InvalidLimiterConfigError(
        'dimension',
        `one of ${this.dimensions.map((d) => d.name).join(', ')}`,
        name,
      );
    }
    return index;
  }

  /** @internal withdraws a reservation whose call will not run; failures only cost capacity */
  giveBack(permit: BudgetPermit): void {
    permit.cancel().catch((error: unknown) => {
      reportError('giving a reservation back failed', error);
    });
  }

  private checkedCosts(costs: readonly number[]): number[] {
    if (!Array.isArray(costs) || costs.length !== this.dimensions.length) {
      throw new InvalidLimiterConfigError(
        'costs',
        `one cost per dimension (${this.dimensions.length})`,
        Array.isArray(costs) ? costs.length : costs,
      );
    }
    return costs.map((c, i) => {
      if (!Number.isSafeInteger(c) || c < 0) {
        throw new InvalidLimiterConfigError('costs', 'non-negative integers', c);
      }
      const d = this.dimensions[i]!;
      if (c > d.burst) throw new CostExceedsCapacityError(d.key, c, d.burst);
      return c;
    });
  }

  private costsUs(units: readonly number[]): number[] {
    return units.map((c, i) => {
      const d = this.dimensions[i]!;
      return costUs(d.rate, rateUnits(d, c));
    });
  }

  /**
   * Waits until the store lets the reservation start (true), re-planned on every shift; false
   * when the store dropped it.
   */
  private waitFor(
    permit: BudgetPermit,
    plans: MemberPlan[],
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = {
        permit,
        plans,
        deadlineMs,
        claiming: false,
        stale: false,
        lost: false,
        settle: (outcome) => {
          if (!this.waiters.delete(waiter)) return;
          if (signal) this.unlisten(signal, waiter);
          this.unwatchIfIdle();
          if (outcome.ok) {
            resolve(!waiter.lost);
          } else {
            this.giveBack(permit);
            reject(outcome.error);
          }
          this.armSoon();
        },
      };
      this.waiters.add(waiter);
      this.watchKeys();
      if (signal) this.listen(signal, waiter);
      this.armSoon();
    });
  }

  /** Rejects `waiter` with the signal's reason when it aborts. */
  private listen(signal: AbortSignal, waiter: Waiter): void {
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const waiters = new Set<Waiter>();
      const onAbort = () => {
        this.bySignal.delete(signal);
        for (const w of waiters) w.settle({ ok: false, error: signal.reason });
      };
      entry = { waiters, onAbort };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.waiters.add(waiter);
  }

  private unlisten(signal: AbortSignal, waiter: Waiter): void {
    const entry = this.bySignal.get(signal);
    if (!entry) return;
    entry.waiters.delete(waiter);
    if (entry.waiters.size > 0) return;
    this.bySignal.delete(signal);
    signal.removeEventListener('abort', entry.onAbort);
  }

  /**
   * When the store answered, for plans given as waits from its answer. The in-process store
   * answers at the instant it was asked (its answer may be read much later: thousands of callers
   * reserving at once resume one by one, and a plan dated from the resumption would start late,
   * wasting the refill of that delay at every start). Another store answers when its reply comes.
   */
  private answeredAt(askedUs: number): number {
    return this.inProcess ? askedUs / 1000 : this.clock.now();
  }

  /** The store answers in this process, at the instant it is asked. */
  private get inProcess(): boolean {
    return this.store instanceof MemoryBudgetStore;
  }

  private watchKeys(): void {
    this.unwatch ??= this.store.watch(
      this.specs.map((s) => s.key),
      (change) => this.onChange(change),
    );
  }

  /** Stops listening once nobody of this process waits or is reserving. */
  private unwatchIfIdle(): void {
    if (this.waiters.size > 0 || this.reserving > 0) return;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** A waiter still waiting at its deadline gives its place back. */
  private expire(waiter: Waiter, nowMs: number): void {
    const index = bindingIndex(waiter.plans);
    waiter.settle({
      ok: false,
      error: new RateLimitExceededError(
        this.dimensions[index]!.key,
        Math.max(0, plannedStartMs(waiter.plans) - nowMs),
        waiter.deadlineMs - waiter.permit.askedAt,
      ),
    });
  }

  /**
   * `arm` once for everything that happened in this tick: thousands of callers reserving, or
   * given back by one abort, at once cost one pass over the waiters, not one each.
   */
  private armSoon(): void {
    if (this.armPending) return;
    this.armPending = true;
    queueMicrotask(() => {
      this.armPending = false;
      this.arm();
    });
  }

  /**
   * Claims every waiter whose start has come and arms the one timer for the next: however many
   * callers wait, a shift costs arithmetic on their plans and at most one timer.
   */
  private arm = (): void => {
    this.applyPending();
    const now = this.clock.now();
    let nextMs = Number.POSITIVE_INFINITY;
    for (const waiter of this.waiters) {
      if (waiter.claiming) continue;
      // A claim of this pass moved the queue (a start on a bucket that sat idle): the plans
      // behind it must see that before they claim, or they claim early, are told to wait, and
      // their fresh plans, read later, can fall behind those of the callers after them.
      if (this.pendingShifts > 0) this.applyPending();
      const startMs = waiter.stale ? now : plannedStartMs(waiter.plans);
      if (startMs <= now) this.claim(waiter);
      else if (waiter.deadlineMs <= now) this.expire(waiter, now);
      else nextMs = Math.min(nextMs, startMs, waiter.deadlineMs);
    }
    if (nextMs === this.armedAtMs) return;
    this.disarm?.();
    this.disarm = undefined;
    this.armedAtMs = nextMs;
    if (nextMs === Number.POSITIVE_INFINITY) return;
    this.disarm = scheduleOn(
      this.clock,
      () => {
        this.disarm = undefined;
        this.armedAtMs = Number.POSITIVE_INFINITY;
        this.arm();
      },
      nextMs - now,
    );
  };

  /** At the planned start: the store says whether the reservation starts now. */
  private claim(waiter: Waiter): void {
    waiter.claiming = true;
    waiter.stale = false;
    const askedUs = this.nowUs();
    this.store
      .claim(
        this.specs,
        waiter.plans.map((p) => p.seq),
        askedUs,
      )
      .then(
        (outcome) => {
          waiter.claiming = false;
          if (!this.waiters.has(waiter)) {
            // Aborted while the claim was on its way: a start it won is given back.
            if (outcome.status === 'started') this.giveBack(waiter.permit);
            return;
          }
          if (outcome.status === 'started') {
            waiter.permit.chargedLag(outcome.lagsUs, askedUs);
            waiter.settle({ ok: true });
          } else if (outcome.status === 'lost') {
            waiter.lost = true;
            waiter.settle({ ok: true });
          } else {
            // From now, not from the asking: a claim is read at once, and a wait of a µs added to
            // a floored reading could land at or before now in float ms and claim again at once.
            const answeredMs = this.clock.now();
            waiter.plans = outcome.plans.map((p) => toMemberPlan(p, answeredMs));
            this.armSoon();
          }
        },
        (error: unknown) => {
          waiter.claiming = false;
          waiter.settle({ ok: false, error });
        },
      );
  }

  /** Applies the shifts a new waiter missed between the store's answer and now. */
  private catchUp(index: number, plan: MemberPlan): MemberPlan {
    if (!plan.queued) return plan;
    let out = plan;
    for (const shift of this.recent[index]!) {
      if (shift.version === out.version + 1) out = applyShift(out, shift);
    }
    return out;
  }

  /**
   * A shift on one of this budget's keys: the waiters with a ticket there re-plan, all the shifts
   * of a tick at once (applyPending).
   */
  private onChange(change: QueueChange): void {
    const index = this.specs.findIndex((s) => s.key === change.key);
    if (index < 0) return;
    if (change.resync) {
      this.applyPending();
      for (const waiter of this.waiters) {
        const p = waiter.plans[index]!;
        if (p.queued && p.version < change.shift.version) waiter.stale = true;
      }
      this.armSoon();
      return;
    }
    const recent = this.recent[index]!;
    recent.push(change.shift);
    if (recent.length > RECENT_SHIFTS) recent.shift();
    this.pending[index]!.push(change.shift);
    this.pendingShifts++;
    this.armSoon();
  }

  /** Applies the shifts that arrived since the last pass to every waiter's plan. */
  private applyPending(): void {
    if (this.pendingShifts === 0) return;
    this.pendingShifts = 0;
    for (let index = 0; index < this.pending.length; index++) {
      const shifts = this.pending[index]!;
      if (shifts.length === 0) continue;
      this.pending[index] = [];
      const batch = new ShiftBatch(shifts);
      for (const waiter of this.waiters) {
        const p = waiter.plans[index]!;
        if (!p.queued) continue;
        const outcome = batch.apply(p.seq, p.version);
        if (outcome.kind === 'none') continue;
        // In flight, or a shift was missed: the store will tell the plan as it stands.
        if (waiter.claiming || outcome.kind === 'stale') {
          waiter.stale = true;
          continue;
        }
        waiter.plans[index] = {
          ...p,
          startMs: p.startMs + outcome.addUs / 1000,
          version: outcome.version,
        };
      }
    }
  }
}

function toMemberPlan(plan: TicketPlan, answeredMs: number): MemberPlan {
  return {
    seq: plan.seq,
    queued: plan.queued,
    startMs: answeredMs + plan.waitUs / 1000,
    version: plan.version,
  };
}

function applyShift(plan: MemberPlan, shift: QueueChange['shift']): MemberPlan {
  const startUs = shiftedStart(0, plan.seq, shift);
  return { ...plan, startMs: plan.startMs + startUs / 1000, version: shift.version };
}

/** Clock time (ms) at which every member's ticket may start, from the plans as known. */
function plannedStartMs(plans: readonly MemberPlan[]): number {
  let startMs = Number.NEGATIVE_INFINITY;
  for (const p of plans) if (p.queued) startMs = Math.max(startMs, p.startMs);
  return startMs;
}

function bindingIndex(plans: readonly MemberPlan[]): number {
  let index = 0;
  for (let i = 0; i < plans.length; i++) {
    if (plans[i]!.queued && plans[i]!.startMs > plans[index]!.startMs) index = i;
  }
  return index;
}
