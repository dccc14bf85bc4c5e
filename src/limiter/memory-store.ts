import { type AlgorithmOps, algorithms } from './algorithms.js';
import type { Grant, LimiterSpec, Look, ReserveOutcome, Store } from './store.js';

/** Entries are swept for idleness once per this many reservations. */
const SWEEP_EVERY = 4096;

/**
 * Limiter state in this process's memory: exact and fast, but every process has its own. Use
 * `RedisStore` when several workers share one provider quota. The default store of the factories.
 */
export class MemoryStore implements Store {
  private readonly states = new Map<string, { spec: LimiterSpec; state: unknown }>();
  private untilSweep = SWEEP_EVERY;

  /** Number of keys held (idle, fully refilled keys are dropped from time to time). */
  get size(): number {
    return this.states.size;
  }

  async reserve(
    specs: readonly LimiterSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): Promise<ReserveOutcome> {
    return this.reserveSync(specs, costsUs, maxWaitUs, nowUs);
  }

  /** Synchronous core of `reserve`, for hot paths that need no promise. */
  reserveSync(
    specs: readonly LimiterSpec[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): ReserveOutcome {
    let waitUs = 0;
    let index = 0;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const w = ops(spec).wait(this.get(spec), nowUs, costsUs[i]!, spec.rate.capacityUs);
      if (w > waitUs) {
        waitUs = w;
        index = i;
      }
    }
    if (waitUs > maxWaitUs) {
      const spec = specs[index]!;
      const freeUs = ops(spec).freeUs(this.get(spec), nowUs, spec.rate.capacityUs);
      return { granted: false, waitUs, index, freeUs };
    }
    const startUs = nowUs + waitUs;
    const grants: Grant[] = [];
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const cost = costsUs[i]!;
      if (cost === 0) {
        grants.push({ seq: -1, costUs: 0 });
        continue;
      }
      const algo = ops(spec);
      const next = algo.grant(this.get(spec), nowUs, startUs, cost, spec.rate.capacityUs);
      this.states.set(stateKey(spec), { spec, state: next });
      grants.push({ seq: algo.seq(next), costUs: cost });
    }
    if (--this.untilSweep <= 0) this.sweep(nowUs);
    const binding = specs[index]!;
    const freeUs = ops(binding).freeUs(this.get(binding), nowUs, binding.rate.capacityUs);
    return { granted: true, waitUs, grants, index, freeUs };
  }

  async refund(spec: LimiterSpec, grant: Grant, refundUs: number, nowUs: number): Promise<void> {
    if (refundUs <= 0 || grant.seq < 0) return;
    this.update(spec, (algo, s) =>
      algo.refund(s, nowUs, refundUs, grant.seq, spec.rate.capacityUs),
    );
  }

  async charge(spec: LimiterSpec, extraUs: number, nowUs: number): Promise<void> {
    if (extraUs <= 0) return;
    this.update(spec, (algo, s) => algo.charge(s, nowUs, extraUs, spec.rate.capacityUs));
  }

  async hold(spec: LimiterSpec, delayUs: number, nowUs: number): Promise<void> {
    if (delayUs <= 0) return;
    this.update(spec, (algo, s) => algo.hold(s, nowUs, nowUs + delayUs, spec.rate.capacityUs));
  }

  async look(spec: LimiterSpec, nowUs: number): Promise<Look> {
    return { freeUs: ops(spec).freeUs(this.get(spec), nowUs, spec.rate.capacityUs) };
  }

  private get(spec: LimiterSpec): unknown {
    return this.states.get(stateKey(spec))?.state ?? ops(spec).initial;
  }

  private update(
    spec: LimiterSpec,
    f: (algo: AlgorithmOps<unknown>, state: unknown) => unknown,
  ): void {
    this.states.set(stateKey(spec), { spec, state: f(ops(spec), this.get(spec)) });
  }

  /** Drops keys that are full again: they behave as a fresh key (`nextSeq` keeps old permits apart). */
  private sweep(nowUs: number): void {
    this.untilSweep = SWEEP_EVERY;
    if (this.states.size < SWEEP_EVERY) return;
    for (const [key, { spec, state }] of this.states) {
      const algo = ops(spec);
      const idle = algo.freeUs(state, nowUs, spec.rate.capacityUs) >= spec.rate.capacityUs;
      if (idle) this.states.delete(key);
    }
  }
}

function ops(spec: LimiterSpec): AlgorithmOps<unknown> {
  return algorithms[spec.algorithm];
}

function stateKey(spec: LimiterSpec): string {
  return `${spec.algorithm}\u0000${spec.key}`;
}
