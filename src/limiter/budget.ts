import { type Clock, scheduleOn, systemClock } from '../clock.js';
import { CostExceedsCapacityError } from '../errors/cost-exceeds-capacity-error.js';
import { InvalidLimiterConfigError } from '../errors/invalid-limiter-config-error.js';
import { RateLimitExceededError } from '../errors/rate-limit-exceeded-error.js';
import { reportError } from '../events/safe-event-emitter.js';
import { MemoryBudgetStore } from '../stores/memory-budget-store.js';
import type { AcquireOptions } from './acquirer.js';
import { shiftedStart } from './bucket-queue.js';
import { BudgetPermit } from './budget-permit.js';
import type { BudgetSpec, BudgetStore, QueueChange, TicketPlan } from './budget-store.js';
import { costUs, makeRate, type Rate, unitsIn } from './rate.js';

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
}

/** A dimension with its defaults applied. */
export interface ResolvedDimension extends Required<BudgetDimension> {
  readonly rate: Rate;
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
  cancelTimer?: () => void;
  /** A claim is on its way to the store. */
  claiming: boolean;
  /** A shift was missed while claiming: ask again at once when the answer is `wait`. */
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
  readonly dimensions: readonly ResolvedDimension[];
  /** @internal */
  readonly specs: readonly BudgetSpec[];
  private readonly waiters = new Set<Waiter>();
  private unwatch: (() => void) | undefined;
  /** Recent shifts per member, newest last. */
  private readonly recent: QueueChange['shift'][][];

  constructor(options: BudgetOptions) {
    const dims = options?.dimensions;
    if (!Array.isArray(dims) || dims.length === 0) {
      throw new InvalidLimiterConfigError('dimensions', 'at least one dimension', dims);
    }
    const keys = new Set<string>();
    this.dimensions = dims.map((d) => {
      if (typeof d.key !== 'string' || d.key.length === 0) {
        throw new InvalidLimiterConfigError('key', 'a non-empty string', d.key);
      }
      if (keys.has(d.key)) throw new InvalidLimiterConfigError('key', 'distinct keys', d.key);
      keys.add(d.key);
      const periodMs = d.periodMs ?? 60_000;
      if (!Number.isFinite(periodMs) || periodMs <= 0) {
        throw new InvalidLimiterConfigError('periodMs', 'a positive number of ms', periodMs);
      }
      const rate = makeRate(d.limit, Math.round(periodMs * 1000), d.burst ?? d.limit);
      return { ...d, periodMs, burst: rate.burst, rate };
    });
    this.specs = this.dimensions.map((d) => ({ key: d.key, rate: d.rate }));
    this.recent = this.specs.map(() => []);
    this.store = options.store ?? sharedMemoryStore;
    this.clock = options.clock ?? systemClock;
  }

  /** Reservations of this budget waiting in this process. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Reserves `costs` (one per dimension, in units) at the earliest start the queue gives and
   * resolves when it starts. A settle anywhere that frees capacity brings the start forward.
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
    const maxWaitUs =
      maxWaitMs === Number.POSITIVE_INFINITY
        ? Number.MAX_SAFE_INTEGER
        : Math.max(0, Math.floor(maxWaitMs * 1000));
    const costsUs = this.costsUs(units);
    const outcome = await this.store.reserve(this.specs, costsUs, maxWaitUs, this.nowUs());
    if (!outcome.granted) {
      signal?.throwIfAborted();
      const { key } = this.dimensions[outcome.index]!;
      throw new RateLimitExceededError(key, outcome.waitUs / 1000, maxWaitMs);
    }
    const answeredMs = this.clock.now();
    const permit = new BudgetPermit(this, outcome.plans, units, costsUs, askedMs);
    if (signal?.aborted) {
      this.giveBack(permit);
      throw signal.reason;
    }
    if (!outcome.plans.some((p) => p.queued)) return permit.started(answeredMs);
    const plans = outcome.plans.map((p, i) => this.catchUp(i, toMemberPlan(p, answeredMs)));
    const started = await this.waitFor(permit, plans, askedMs + maxWaitMs, signal);
    if (started) return permit.started(this.clock.now());
    // The store dropped the reservation (this worker missed its start): queue again.
    return this.acquire(units, {
      signal,
      maxWaitMs: Math.max(0, askedMs + maxWaitMs - this.clock.now()),
    });
  }

  /** Takes `costs` if they can start at once; never waits, never queues. */
  async tryAcquire(costs: readonly number[]): Promise<BudgetDecision> {
    const units = this.checkedCosts(costs);
    const askedMs = this.clock.now();
    const costsUs = this.costsUs(units);
    const outcome = await this.store.reserve(this.specs, costsUs, 0, this.nowUs());
    if (!outcome.granted) return { allowed: false, retryAfterMs: outcome.waitUs / 1000 };
    const permit = new BudgetPermit(this, outcome.plans, units, costsUs, askedMs);
    return { allowed: true, retryAfterMs: 0, permit: permit.started(askedMs) };
  }

  /**
   * Nothing charged on dimension `name` starts within `delayMs` (a provider's 429 with its
   * reset, seen by any worker); callers already waiting queue behind it in their order.
   */
  async holdFor(name: string, delayMs: number): Promise<void> {
    const index = this.indexOf(name);
    if (!Number.isFinite(delayMs)) {
      throw new InvalidLimiterConfigError('delayMs', 'a finite number of ms', delayMs);
    }
    if (delayMs <= 0) return;
    await this.store.hold(this.specs[index]!, Math.ceil(delayMs * 1000), this.nowUs());
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
          burst: d.rate.burst,
          available: look.queued > 0 ? 0 : Math.min(d.rate.burst, unitsIn(d.rate, look.freeUs)),
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
      if (c > d.rate.burst) throw new CostExceedsCapacityError(d.key, c, d.rate.burst);
      return c;
    });
  }

  private costsUs(units: readonly number[]): number[] {
    return units.map((c, i) => costUs(this.dimensions[i]!.rate, c));
  }

  /**
   * Waits until the store lets the reservation start (true), re-planning on every shift; false
   * when the store dropped it.
   */
  private waitFor(
    permit: BudgetPermit,
    plans: MemberPlan[],
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = () => waiter.settle({ ok: false, error: signal?.reason });
      const waiter: Waiter = {
        permit,
        plans,
        deadlineMs,
        claiming: false,
        stale: false,
        lost: false,
        settle: (outcome) => {
          if (!this.waiters.delete(waiter)) return;
          waiter.cancelTimer?.();
          signal?.removeEventListener('abort', onAbort);
          if (this.waiters.size === 0) {
            this.unwatch?.();
            this.unwatch = undefined;
          }
          if (outcome.ok) {
            resolve(!waiter.lost);
          } else {
            this.giveBack(permit);
            reject(outcome.error);
          }
        },
      };
      this.waiters.add(waiter);
      this.unwatch ??= this.store.watch(
        this.specs.map((s) => s.key),
        (change) => this.onChange(change),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.plan(waiter);
    });
  }

  /** Arms the waiter's timer for its planned start; past its deadline, it gives up. */
  private plan(waiter: Waiter): void {
    waiter.cancelTimer?.();
    waiter.cancelTimer = undefined;
    const startMs = plannedStartMs(waiter.plans);
    if (startMs > waiter.deadlineMs) {
      const index = bindingIndex(waiter.plans);
      waiter.settle({
        ok: false,
        error: new RateLimitExceededError(
          this.dimensions[index]!.key,
          Math.max(0, startMs - this.clock.now()),
          waiter.deadlineMs - waiter.permit.askedAt,
        ),
      });
      return;
    }
    waiter.cancelTimer = scheduleOn(
      this.clock,
      () => this.claim(waiter),
      Math.max(0, startMs - this.clock.now()),
    );
  }

  /** At the planned start: the store says whether the reservation starts now. */
  private claim(waiter: Waiter): void {
    waiter.cancelTimer = undefined;
    waiter.claiming = true;
    waiter.stale = false;
    this.store
      .claim(
        this.specs,
        waiter.plans.map((p) => p.seq),
        this.nowUs(),
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
            waiter.settle({ ok: true });
          } else if (outcome.status === 'lost') {
            waiter.lost = true;
            waiter.settle({ ok: true });
          } else {
            const answeredMs = this.clock.now();
            waiter.plans = outcome.plans.map((p) => toMemberPlan(p, answeredMs));
            if (waiter.stale) this.claim(waiter);
            else this.plan(waiter);
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

  /** A shift on one of this budget's keys: waiters with a ticket there re-plan. */
  private onChange(change: QueueChange): void {
    const index = this.specs.findIndex((s) => s.key === change.key);
    if (index < 0) return;
    const recent = this.recent[index]!;
    recent.push(change.shift);
    if (recent.length > RECENT_SHIFTS) recent.shift();
    for (const waiter of this.waiters) {
      const p = waiter.plans[index]!;
      if (!p.queued || change.shift.version <= p.version) continue;
      if (waiter.claiming) {
        waiter.stale = true;
        continue;
      }
      if (change.shift.version !== p.version + 1) {
        // A shift was missed: the store tells the plan as it stands.
        this.claim(waiter);
        continue;
      }
      waiter.plans[index] = applyShift(p, change.shift);
      this.plan(waiter);
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
