import {
  BucketQueue,
  type BucketQueueSnapshot,
  lagChargedUs,
  type QueueShift,
} from '../limiter/bucket-queue.js';
import type {
  BudgetLook,
  BudgetReserveOutcome,
  BudgetSpec,
  BudgetStore,
  ClaimOutcome,
  QueueChange,
  TicketPlan,
} from '../limiter/budget-store.js';

/** Keys are swept for idleness once per this many reservations. */
const SWEEP_EVERY = 4096;

/** A waiting ticket whose start passed this long ago without a claim is dropped (µs). */
export const DEFAULT_CLAIM_GRACE_US = 10_000_000;

const NOT_CHARGED: TicketPlan = { seq: -1, queued: false, waitUs: 0, version: 0 };

/**
 * Budget queues in this process's memory: exact, synchronous underneath, and every process has
 * its own. Use `RedisBudgetStore` when several workers share one provider quota.
 */
export class MemoryBudgetStore implements BudgetStore {
  private readonly states = new Map<string, BucketQueue>();
  private readonly watchers = new Map<string, Set<(change: QueueChange) => void>>();
  private untilSweep = SWEEP_EVERY;
  /** Shifts of the operation in progress, told once it is done (listeners may call back in). */
  private told: QueueChange[] | undefined;

  constructor(private readonly graceUs = DEFAULT_CLAIM_GRACE_US) {}

  /** Number of keys held (idle, full keys are dropped from time to time). */
  get size(): number {
    return this.states.size;
  }

  async reserve(
    specs: readonly BudgetSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): Promise<BudgetReserveOutcome> {
    return this.atomically(() => this.reserveNow(specs, costsUs, maxWaitUs, nowUs));
  }

  private reserveNow(
    specs: readonly BudgetSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): BudgetReserveOutcome {
    const states = specs.map((spec) => this.fresh(spec, nowUs));
    let waitUs = 0;
    let index = 0;
    let queued = false;
    for (let i = 0; i < specs.length; i++) {
      if (costsUs[i] === 0) continue;
      const s = states[i]!;
      if (s.queued > 0) queued = true;
      const w = s.wait(nowUs, costsUs[i]!, specs[i]!.rate.capacityUs);
      if (w > waitUs) {
        waitUs = w;
        index = i;
      }
    }
    if (waitUs > maxWaitUs) return { granted: false, waitUs, index };
    if (--this.untilSweep <= 0) this.sweep(nowUs);
    // FIFO: a call starts at once only when nobody waits on any of its keys.
    const startNow = waitUs === 0 && !queued;
    // Only a start at once is charged now, and so pays arrival lag now.
    const lagsUs = startNow ? specs.map(() => 0) : undefined;
    const plans = specs.map((spec, i) => {
      if (costsUs[i] === 0) return NOT_CHARGED;
      const state = this.stored(spec.key, states[i]!);
      if (lagsUs) lagsUs[i] = lagChargedUs(state.ts, nowUs, spec.lagUs);
      const seq = state.reserve(nowUs, costsUs[i]!, startNow, spec.lagUs);
      return this.plan(state, seq, nowUs, spec.rate.capacityUs);
    });
    return { granted: true, waitUs, index, plans, ...(lagsUs && { lagsUs }) };
  }

  async claim(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    nowUs: number,
  ): Promise<ClaimOutcome> {
    return this.atomically(() => this.claimNow(specs, seqs, nowUs));
  }

  private claimNow(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    nowUs: number,
  ): ClaimOutcome {
    const states = specs.map((spec) => this.fresh(spec, nowUs));
    let waitUs = 0;
    let lost = false;
    for (let i = 0; i < specs.length; i++) {
      if (seqs[i]! < 0) continue;
      const startUs = states[i]!.startOf(seqs[i]!, specs[i]!.rate.capacityUs);
      if (startUs === undefined) lost = true;
      else waitUs = Math.max(waitUs, startUs - nowUs);
    }
    if (lost) {
      // Part of the reservation was dropped: withdraw the rest; the caller reserves again.
      this.cancelNow(specs, seqs, new Array<number>(specs.length).fill(0), nowUs);
      return { status: 'lost' };
    }
    if (waitUs > 0) {
      const plans = specs.map((spec, i) =>
        seqs[i]! < 0 ? NOT_CHARGED : this.plan(states[i]!, seqs[i]!, nowUs, spec.rate.capacityUs),
      );
      return { status: 'wait', waitUs, plans };
    }
    const lagsUs = specs.map(() => 0);
    for (let i = 0; i < specs.length; i++) {
      if (seqs[i]! >= 0) {
        const state = states[i]!;
        lagsUs[i] = lagChargedUs(state.ts, nowUs, specs[i]!.lagUs);
        this.tell(specs[i]!.key, state.claim(nowUs, seqs[i]!, specs[i]!.lagUs));
      }
    }
    return { status: 'started', lagsUs };
  }

  async adjust(
    specs: readonly BudgetSpec[],
    deltasUs: readonly number[],
    nowUs: number,
    leftUs?: readonly number[],
  ): Promise<readonly number[]> {
    return this.atomically(() => this.adjustNow(specs, deltasUs, nowUs, leftUs));
  }

  private adjustNow(
    specs: readonly BudgetSpec[],
    deltasUs: readonly number[],
    nowUs: number,
    leftUs: readonly number[] | undefined,
  ): number[] {
    const outside = specs.map(() => 0);
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const delta = deltasUs[i]!;
      if (delta !== 0) {
        const s = this.stored(spec.key, this.fresh(spec, nowUs));
        this.tell(spec.key, delta < 0 ? s.refund(nowUs, -delta) : s.charge(nowUs, delta));
      }
      const left = leftUs?.[i] ?? -1;
      if (left >= 0) {
        const s = this.stored(spec.key, this.fresh(spec, nowUs));
        this.tell(spec.key, s.lowerTo(nowUs, spec.rate.capacityUs, left));
        outside[i] = s.outsideUs;
      }
    }
    return outside;
  }

  async cancel(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    costsUs: readonly number[],
    nowUs: number,
  ): Promise<void> {
    this.atomically(() => this.cancelNow(specs, seqs, costsUs, nowUs));
  }

  private cancelNow(
    specs: readonly BudgetSpec[],
    seqs: readonly number[],
    costsUs: readonly number[],
    nowUs: number,
  ): void {
    for (let i = 0; i < specs.length; i++) {
      if (seqs[i]! < 0) continue;
      const s = this.stored(specs[i]!.key, this.fresh(specs[i]!, nowUs));
      this.tell(specs[i]!.key, s.cancel(nowUs, seqs[i]!, costsUs[i]!));
    }
  }

  async hold(spec: BudgetSpec, delayUs: number, costUs: number, nowUs: number): Promise<void> {
    if (delayUs <= 0) return;
    this.atomically(() => {
      const s = this.stored(spec.key, this.fresh(spec, nowUs));
      this.tell(spec.key, s.hold(nowUs + delayUs, spec.rate.capacityUs, costUs));
    });
  }

  async look(spec: BudgetSpec, nowUs: number): Promise<BudgetLook> {
    const state = this.state(spec.key);
    const { queued, freeUs } = state.look(nowUs, spec.rate.capacityUs, this.graceUs);
    return { freeUs, queued, heldUs: state.heldUs(nowUs) };
  }

  /** The key's state (for tests and inspection); a fresh key when unknown. */
  stateOf(key: string): BucketQueueSnapshot {
    return this.state(key).snapshot();
  }

  watch(keys: readonly string[], listener: (change: QueueChange) => void): () => void {
    for (const key of keys) {
      let set = this.watchers.get(key);
      if (!set) {
        set = new Set();
        this.watchers.set(key, set);
      }
      set.add(listener);
    }
    return () => {
      for (const key of keys) {
        const set = this.watchers.get(key);
        set?.delete(listener);
        if (set?.size === 0) this.watchers.delete(key);
      }
    };
  }

  private plan(state: BucketQueue, seq: number, nowUs: number, capacityUs: number): TicketPlan {
    const startUs = state.startOf(seq, capacityUs);
    return {
      seq,
      queued: startUs !== undefined,
      waitUs: startUs === undefined ? 0 : startUs - nowUs,
      version: state.version,
    };
  }

  /** The key's state with stale tickets dropped (their shifts reported). */
  private fresh(spec: BudgetSpec, nowUs: number): BucketQueue {
    const state = this.state(spec.key);
    if (state.queued === 0) return state;
    for (const shift of state.expire(nowUs, spec.rate.capacityUs, this.graceUs)) {
      this.tell(spec.key, shift);
    }
    return state;
  }

  /** `state`, kept as the key's (a fresh key is only stored once it is written). */
  private stored(key: string, state: BucketQueue): BucketQueue {
    if (!this.states.has(key)) this.states.set(key, state);
    return state;
  }

  private tell(key: string, shift: QueueShift | undefined): void {
    if (!shift || !this.watchers.has(key)) return;
    const change: QueueChange = { key, shift };
    if (this.told) this.told.push(change);
    else this.deliver([change]);
  }

  /**
   * Runs one operation over all its keys before any listener hears of it: a listener may call
   * back in (a waiter claims), and must find every key of the operation already written.
   */
  private atomically<T>(operation: () => T): T {
    if (this.told) return operation();
    this.told = [];
    try {
      return operation();
    } finally {
      const changes = this.told;
      this.told = undefined;
      this.deliver(changes);
    }
  }

  private deliver(changes: readonly QueueChange[]): void {
    for (const change of changes) {
      for (const listener of this.watchers.get(change.key) ?? []) listener(change);
    }
  }

  /**
   * Drops keys that are full again with nobody waiting: they behave as a fresh key. A permit from
   * before then is settled as a credit bounded by the debt, as any.
   */
  private sweep(nowUs: number): void {
    this.untilSweep = SWEEP_EVERY;
    for (const [key, state] of this.states) {
      // Kept until the clock passes its numbers too: a new life numbers from the clock.
      if (state.idleAt(nowUs)) this.states.delete(key);
    }
  }

  /** The key's state; a new one (not stored yet) when unknown. */
  private state(key: string): BucketQueue {
    return this.states.get(key) ?? new BucketQueue();
  }
}
