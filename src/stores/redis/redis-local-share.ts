import type { Clock } from '../../clock.js';
import { LimiterUnavailableError } from '../../errors/limiter-unavailable-error.js';
import { costUs } from '../../limiter/rate.js';
import type { Grant, LimiterSpec, Look, ReserveOutcome } from '../../limiter/store.js';
import { MemoryStore } from '../memory-store.js';

/** A key served locally, with the last `now` it was served at (and when, on this process). */
interface LocalKey {
  readonly spec: LimiterSpec;
  readonly nowUs: number;
  readonly atMs: number;
}

/**
 * This worker's share of every budget while Redis is away (`onUnavailable: 'local'`): an
 * in-process store where every unit costs `workers` times its schedule, i.e. 1/workers of each
 * rate and burst. It remembers the keys it served, so that they re-enter Redis held by as far as
 * they ran ahead here, and the grants it made, which mean nothing to Redis.
 */
export class RedisLocalShare {
  private store = new MemoryStore();
  private readonly keys = new Map<string, LocalKey>();
  /** Grants handed out, with the local store's own grant (n times the span). */
  private readonly grants = new WeakMap<Grant, Grant>();
  /** The spec each key has in the local store (see `localSpec`). */
  private readonly specs = new WeakMap<LimiterSpec, LimiterSpec>();

  constructor(
    private readonly workers: number,
    private readonly clock: Clock | undefined,
  ) {}

  reserve(
    specs: readonly LimiterSpec[],
    keys: readonly string[],
    costsUs: readonly number[],
    maxWaitUs: number,
    nowUs: number,
  ): ReserveOutcome {
    const n = this.workers;
    const locals = specs.map((spec) => this.localSpec(spec));
    specs.forEach((spec, i) => {
      // A cost above this worker's share never fits it: admitting it after a wait would let
      // every worker through with one, n times what the burst allows between them.
      if (costsUs[i]! * n > locals[i]!.rate.capacityUs) {
        throw new LimiterUnavailableError(
          `Redis is unavailable and the cost on ${spec.key} is above this worker's share of its burst (burst / localWorkers = ${spec.rate.burst} / ${n}); onUnavailable is 'local'`,
        );
      }
    });
    for (let i = 0; i < specs.length; i++) this.mark(keys[i]!, specs[i]!, nowUs);
    const scaled = costsUs.map((c) => c * n);
    const outcome = this.store.reserveSync(locals, scaled, maxWaitUs, this.now(nowUs));
    const freeUs = Math.floor(outcome.freeUs / n);
    if (!outcome.granted) return { ...outcome, freeUs, timeScale: n };
    const grants = outcome.grants.map((g, i) => {
      // Local schedules run n times slower: a span there is n times the shared one.
      const grant = { seq: g.seq, costUs: costsUs[i]!, spanUs: Math.floor(g.spanUs / n) };
      this.grants.set(grant, g);
      return grant;
    });
    return { ...outcome, grants, freeUs, timeScale: n };
  }

  /** Whether `grant` was made here (it then means nothing to Redis). */
  owns(grant: Grant): boolean {
    return this.grants.has(grant);
  }

  /** Gives back part of a local grant: n times as much here; a cancel, its whole local span. */
  async refund(spec: LimiterSpec, grant: Grant, refundUs: number, nowUs: number): Promise<void> {
    const local = this.grants.get(grant);
    if (!local) return;
    const localUs = refundUs >= grant.spanUs ? local.spanUs : refundUs * this.workers;
    await this.store.refund(this.localSpec(spec), local, localUs, this.now(nowUs));
  }

  charge(spec: LimiterSpec, key: string, extraUs: number, nowUs: number): Promise<void> {
    this.mark(key, spec, nowUs);
    return this.store.charge(this.localSpec(spec), extraUs * this.workers, this.now(nowUs));
  }

  hold(spec: LimiterSpec, key: string, delayUs: number, nowUs: number): Promise<void> {
    this.mark(key, spec, nowUs);
    return this.store.hold(this.localSpec(spec), delayUs, this.now(nowUs));
  }

  async look(spec: LimiterSpec, nowUs: number): Promise<Look> {
    const { freeUs, fifoUs, heldUs } = await this.store.look(this.localSpec(spec), this.now(nowUs));
    return { freeUs: Math.floor(freeUs / this.workers), fifoUs, heldUs, timeScale: this.workers };
  }

  /**
   * The keys served here, each with how far (µs, >= 0) its local schedule runs ahead now: what
   * it must be pushed by when it re-enters Redis; and how long a hold placed here still runs.
   */
  async *aheadByKey(): AsyncGenerator<{
    key: string;
    spec: LimiterSpec;
    aheadUs: number;
    heldUs: number;
  }> {
    for (const [key, { spec, nowUs, atMs }] of this.keys) {
      const now = this.now(nowUs + Math.round((performance.now() - atMs) * 1000));
      const local = this.localSpec(spec);
      const { freeUs, heldUs } = await this.store.look(local, now);
      // Ahead of the burst's own schedule (the local one may be a few µs longer).
      const extraUs = local.rate.capacityUs - spec.rate.capacityUs;
      yield { key, spec, aheadUs: Math.max(0, extraUs - freeUs), heldUs };
    }
  }

  /** The key re-entered Redis. */
  release(key: string): void {
    this.keys.delete(key);
  }

  /** Starts afresh (Redis is back). */
  reset(): void {
    this.store = new MemoryStore();
  }

  /**
   * A key's spec in the local store: its burst schedule is at least `workers` times that of the
   * largest cost the share holds (floor(burst / workers) units). Each cost's µs is rounded up, so
   * `workers` of them can come to a few µs more than the burst's: a share of exactly its units
   * would otherwise never fit at once. It still holds no more units than that.
   */
  private localSpec(spec: LimiterSpec): LimiterSpec {
    let local = this.specs.get(spec);
    if (local === undefined) {
      const { rate } = spec;
      const shareUs = this.workers * costUs(rate, Math.floor(rate.burst / this.workers));
      local =
        shareUs > rate.capacityUs ? { ...spec, rate: { ...rate, capacityUs: shareUs } } : spec;
      this.specs.set(spec, local);
    }
    return local;
  }

  private mark(key: string, spec: LimiterSpec, nowUs: number): void {
    this.keys.set(key, { spec, nowUs, atMs: performance.now() });
  }

  private now(nowUs: number): number {
    return this.clock ? Math.floor(this.clock.now() * 1000) : nowUs;
  }
}
