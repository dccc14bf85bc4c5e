import { type AlgorithmOps, algorithms } from '../limiter/algorithms.js';
import { type GcraState, gcraFreeUs, gcraGrantInPlace, gcraWait } from '../limiter/gcra.js';
import type { Grant, LimiterSpec, Look, ReserveOutcome, Store } from '../limiter/store.js';
import { KeyClaims } from './key-claims.js';

/** Entries are swept for idleness once per this many reservations. */
const SWEEP_EVERY = 4096;

interface Entry {
  readonly spec: LimiterSpec;
  readonly ops: AlgorithmOps<unknown>;
  /** The algorithm's in-place grant where it has one: this entry owns `state`. */
  readonly grant: AlgorithmOps<unknown>['grant'];
  state: unknown;
}

/**
 * Limiter state in this process's memory: exact and fast, but every process has its own. Use
 * `RedisStore` when several workers share one provider quota. The default store of the factories.
 */
export class MemoryStore implements Store {
  /** One map per algorithm: a key may carry one limit of each, and they are separate budgets. */
  private readonly gcraEntries = new Map<string, Entry>();
  private readonly bucketEntries = new Map<string, Entry>();
  private readonly claims = new KeyClaims();
  private untilSweep = SWEEP_EVERY;
  private lastSpec: LimiterSpec | undefined;
  private lastEntry: Entry | undefined;

  /** Refuses a limiter whose key a live limiter uses with other limits. */
  claim(spec: LimiterSpec, owner: object): void {
    this.claims.claim(spec, owner);
  }

  /** Number of keys held (idle, fully refilled keys are dropped from time to time). */
  get size(): number {
    return this.gcraEntries.size + this.bucketEntries.size;
  }

  reserve(
    specs: readonly LimiterSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): Promise<ReserveOutcome> {
    return Promise.resolve(this.reserveSync(specs, costsUs, maxWaitUs, nowUs));
  }

  /** Synchronous core of `reserve`, for hot paths that need no promise. */
  reserveSync(
    specs: readonly LimiterSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): ReserveOutcome {
    if (specs.length === 1) return this.reserveOne(specs[0]!, costsUs[0]!, maxWaitUs, nowUs);
    const entries = specs.map((s) => this.entry(s));
    let waitUs = 0;
    let index = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const w = e.ops.wait(e.state, nowUs, costsUs[i]!, specs[i]!.rate.capacityUs);
      if (w > waitUs) {
        waitUs = w;
        index = i;
      }
    }
    const binding = entries[index]!;
    const bindingCapacityUs = specs[index]!.rate.capacityUs;
    if (waitUs > maxWaitUs) {
      const freeUs = binding.ops.freeUs(binding.state, nowUs, bindingCapacityUs);
      const fifoUs = binding.ops.fifoUs(binding.state, nowUs);
      return { granted: false, waitUs, index, freeUs, fifoUs };
    }
    const startUs = nowUs + waitUs;
    const grants: Grant[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const cost = costsUs[i]!;
      if (cost === 0) {
        grants.push({ seq: -1, costUs: 0, spanUs: 0 });
        continue;
      }
      const capacityUs = specs[i]!.rate.capacityUs;
      const before = e.ops.freeUs(e.state, nowUs, capacityUs);
      e.state = e.grant(e.state, nowUs, startUs, cost, capacityUs);
      const spanUs = before - e.ops.freeUs(e.state, nowUs, capacityUs);
      grants.push({ seq: e.ops.seq(e.state), costUs: cost, spanUs });
    }
    if (--this.untilSweep <= 0) this.sweep(nowUs);
    const freeUs = binding.ops.freeUs(binding.state, nowUs, bindingCapacityUs);
    const fifoUs = binding.ops.fifoUs(binding.state, nowUs);
    return { granted: true, waitUs, grants, index, freeUs, fifoUs };
  }

  /**
   * `reserveSync` of a single limiter, the most common call (`tryAcquire` on one key): the same
   * steps without the arrays a group needs.
   * @internal
   */
  reserveOne(spec: LimiterSpec, cost: number, maxWaitUs: number, nowUs: number): ReserveOutcome {
    const e = this.entry(spec);
    const capacityUs = spec.rate.capacityUs;
    if (spec.algorithm === 'gcra') {
      return this.reserveOneGcra(e, cost, maxWaitUs, nowUs, capacityUs);
    }
    return this.reserveOneAny(e, cost, maxWaitUs, nowUs, capacityUs);
  }

  /** `reserveOne` on a key of any algorithm, through its `ops`. */
  private reserveOneAny(
    e: Entry,
    cost: number,
    maxWaitUs: number,
    nowUs: number,
    capacityUs: number,
  ): ReserveOutcome {
    const { ops } = e;
    const w = ops.wait(e.state, nowUs, cost, capacityUs);
    const waitUs = Math.max(0, w);
    if (waitUs > maxWaitUs) {
      const freeUs = ops.freeUs(e.state, nowUs, capacityUs);
      return { granted: false, waitUs, index: 0, freeUs, fifoUs: ops.fifoUs(e.state, nowUs) };
    }
    let grant: Grant;
    let freeUs: number;
    if (cost === 0) {
      grant = { seq: -1, costUs: 0, spanUs: 0 };
      freeUs = ops.freeUs(e.state, nowUs, capacityUs);
    } else {
      const before = ops.freeUs(e.state, nowUs, capacityUs);
      e.state = e.grant(e.state, nowUs, nowUs + waitUs, cost, capacityUs);
      freeUs = ops.freeUs(e.state, nowUs, capacityUs);
      grant = { seq: ops.seq(e.state), costUs: cost, spanUs: before - freeUs };
    }
    if (--this.untilSweep <= 0) this.sweep(nowUs);
    const fifoUs = ops.fifoUs(e.state, nowUs);
    return { granted: true, waitUs, grants: [grant], index: 0, freeUs, fifoUs };
  }

  /**
   * `reserveOne` on a GCRA key, calling the GCRA functions by name: through `ops`, one call site
   * serving both algorithms is not inlined once both are in use, and that cost a third of a
   * reservation. Same numbers as the generic path.
   */
  private reserveOneGcra(
    e: Entry,
    cost: number,
    maxWaitUs: number,
    nowUs: number,
    capacityUs: number,
  ): ReserveOutcome {
    const state = e.state as GcraState;
    const waitUs = gcraWait(state, nowUs, cost, capacityUs);
    if (waitUs > maxWaitUs) {
      const freeUs = gcraFreeUs(state, nowUs, capacityUs);
      const fifoUs = Math.max(0, state.lastStart - nowUs);
      return { granted: false, waitUs, index: 0, freeUs, fifoUs };
    }
    let grant: Grant;
    let freeUs: number;
    if (cost === 0) {
      grant = { seq: -1, costUs: 0, spanUs: 0 };
      freeUs = gcraFreeUs(state, nowUs, capacityUs);
    } else {
      const before = gcraFreeUs(state, nowUs, capacityUs);
      gcraGrantInPlace(state, nowUs, nowUs + waitUs, cost);
      freeUs = gcraFreeUs(state, nowUs, capacityUs);
      grant = { seq: state.seq, costUs: cost, spanUs: before - freeUs };
    }
    if (--this.untilSweep <= 0) this.sweep(nowUs);
    const fifoUs = Math.max(0, state.lastStart - nowUs);
    return { granted: true, waitUs, grants: [grant], index: 0, freeUs, fifoUs };
  }

  async refund(spec: LimiterSpec, grant: Grant, refundUs: number, nowUs: number): Promise<void> {
    if (refundUs <= 0 || grant.seq < 0) return;
    const e = this.entry(spec);
    const undo = refundUs >= grant.spanUs;
    e.state = e.ops.refund(e.state, nowUs, refundUs, grant.seq, spec.rate.capacityUs, undo);
  }

  async charge(spec: LimiterSpec, extraUs: number, nowUs: number): Promise<void> {
    if (extraUs <= 0) return;
    const e = this.entry(spec);
    e.state = e.ops.charge(e.state, nowUs, extraUs, spec.rate.capacityUs);
  }

  async hold(spec: LimiterSpec, delayUs: number, nowUs: number): Promise<void> {
    if (delayUs <= 0) return;
    const e = this.entry(spec);
    e.state = e.ops.hold(e.state, nowUs, nowUs + delayUs, spec.rate.capacityUs);
  }

  async look(spec: LimiterSpec, nowUs: number): Promise<Look> {
    return this.lookSync(spec, nowUs);
  }

  /** `look`, answered at once (the limiter's hot path after a wait). */
  lookSync(spec: LimiterSpec, nowUs: number): Look {
    const e = this.entry(spec);
    const freeUs = e.ops.freeUs(e.state, nowUs, spec.rate.capacityUs);
    return { freeUs, fifoUs: e.ops.fifoUs(e.state, nowUs), heldUs: e.ops.heldUs(e.state, nowUs) };
  }

  /** The entry of a key, created fresh (and kept) on first use. */
  private entry(spec: LimiterSpec): Entry {
    // The last spec asked, remembered: a limiter asks with the same spec object every time, and
    // most callers ask one limiter many times in a row. Cleared when a sweep drops an entry.
    if (spec === this.lastSpec) return this.lastEntry!;
    const e = this.lookUp(spec);
    this.lastSpec = spec;
    this.lastEntry = e;
    return e;
  }

  private lookUp(spec: LimiterSpec): Entry {
    const entries = spec.algorithm === 'gcra' ? this.gcraEntries : this.bucketEntries;
    let e = entries.get(spec.key);
    if (!e) {
      const ops = algorithms[spec.algorithm];
      // Its own copy of the initial state, which an in-place grant may then update.
      const owned = ops.grantInPlace !== undefined;
      e = {
        spec,
        ops,
        grant: ops.grantInPlace ?? ops.grant,
        state: owned ? { ...(ops.initial as object) } : ops.initial,
      };
      entries.set(spec.key, e);
    }
    return e;
  }

  /**
   * Drops keys that are full again: they behave as a fresh key. A fresh key numbers its grants
   * from the clock (`nextSeq`), which keeps old permits apart only if the old numbers are behind
   * the clock; grants given straight back advance them without moving the schedule, so a key whose
   * sequence ran ahead of the clock is kept until the clock passes it.
   */
  private sweep(nowUs: number): void {
    this.untilSweep = SWEEP_EVERY;
    if (this.size < SWEEP_EVERY) return;
    for (const entries of [this.gcraEntries, this.bucketEntries]) {
      for (const [key, e] of entries) {
        if (
          e.ops.freeUs(e.state, nowUs, e.spec.rate.capacityUs) >= e.spec.rate.capacityUs &&
          e.ops.seq(e.state) <= nowUs &&
          e.ops.fifoUs(e.state, nowUs) === 0
        ) {
          entries.delete(key);
          this.lastSpec = undefined;
        }
      }
    }
  }
}
