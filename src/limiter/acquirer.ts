/** The shapes shared by a single limiter, a group and their permits. */
import type { Clock } from '../clock.js';
import type { AlgorithmName } from './algorithms.js';
import type { Permit } from './permit.js';
import type { Rate } from './rate.js';
import type { LimiterSpec, Store } from './store.js';

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
  /** ms until the latest `hold` ends (a provider's 429 or `remaining: 0`); 0 when none runs. */
  readonly heldForMs: number;
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
  readonly limiters: readonly LimiterMember[];
}

/** What a group and a permit need of one limiter (`Limiter` is the one implementation). */
export interface LimiterMember {
  readonly key: string;
  readonly name: string;
  readonly algorithm: AlgorithmName;
  readonly rate: Rate;
  readonly store: Store;
  readonly clock: Clock;
  /** @internal */
  readonly spec: LimiterSpec;
  inspect(): Promise<LimiterSnapshot>;
  /** @internal the clock in whole µs */
  nowUs(): number;
}
