import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { defaultStore } from '../stores/default-store.js';
import type {
  AcquireOptions,
  Acquirer,
  Cost,
  Decision,
  LimiterMember,
  LimiterSnapshot,
} from './acquirer.js';
import type { AlgorithmName } from './algorithms.js';
import { availableUnits, LimiterGroup, timesOf, toUs } from './limiter-group.js';
import type { Permit } from './permit.js';
import type { Rate } from './rate.js';
import type { LimiterSpec, Store } from './store.js';

/** Longest hold, in µs: a quarter of the safe integer range, as in rate.ts. */
const MAX_HOLD_US = Math.floor(Number.MAX_SAFE_INTEGER / 4);

/** Construction options shared by every limiter. */
export interface LimiterBaseOptions {
  /** Budget name; keys sharing a store and a name share the budget. */
  key: string;
  /** Short label for snapshots and events (e.g. 'rpm', 'itpm'). @default the key */
  name?: string;
  /**
   * Where the state lives.
   * @default the in-process MemoryStore of `clock`, shared by every limiter made without a store
   * on that clock (one store for the process with the default `systemClock`): limiters written
   * apart form a group as they are, and limiters with one key share its budget.
   */
  store?: Store;
  /** Time source. @default systemClock */
  clock?: Clock;
}

/**
 * One rate limit on one key. Build it with `gcra()` or `tokenBucket()`; the algorithm only
 * changes how the state is encoded, the admission rule is the same.
 */
export class Limiter implements Acquirer, LimiterMember {
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
      throw new InvalidConfigError('key', 'a non-empty string', options.key);
    }
    if (options.name !== undefined && typeof options.name !== 'string') {
      throw new InvalidConfigError('name', 'a string', options.name);
    }
    this.key = options.key;
    this.name = options.name ?? options.key;
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? defaultStore(this.clock);
    this.spec = { key: this.key, algorithm, rate };
    this.store.claim?.(this.spec, this);
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
   * No call charged on this key starts before `untilMs` (clock time); the limiter refills from
   * empty from then on. For a provider's 429 with Retry-After, or rate-limit headers at 0.
   * Callers already waiting for a slot inside the hold, in any worker sharing the store, queue
   * again behind it when their slot comes.
   */
  async hold(untilMs: number): Promise<void> {
    const delayMs = untilMs - this.clock.now();
    if (!holdable(delayMs)) {
      throw new InvalidArgumentError(
        'untilMs',
        `a clock time in ms at most ${MAX_HOLD_US / 1000} ms from now`,
        untilMs,
        'hold()',
      );
    }
    await this.holdFor(delayMs);
  }

  /** Like `hold`, with a delay from now in ms. */
  async holdFor(delayMs: number): Promise<void> {
    if (!holdable(delayMs)) {
      throw new InvalidArgumentError(
        'delayMs',
        `a finite number of ms up to ${MAX_HOLD_US / 1000}`,
        delayMs,
        'holdFor()',
      );
    }
    if (delayMs <= 0) return;
    await this.store.hold(this.spec, Math.ceil(delayMs * 1000), this.nowUs());
  }

  async inspect(): Promise<LimiterSnapshot> {
    const look = await this.store.look(this.spec, this.nowUs());
    const { rate } = this;
    return {
      key: this.key,
      name: this.name,
      algorithm: this.algorithm,
      limit: rate.limit,
      periodMs: rate.periodUs / 1000,
      burst: rate.burst,
      available: availableUnits(rate, look),
      ...timesOf(rate, look),
      heldForMs: look.heldUs / 1000,
    };
  }

  /** @internal the clock in whole µs */
  nowUs(): number {
    return toUs(this.clock.now());
  }
}

/** Within the same exact range rate.ts keeps every schedule in (about 71 years). */
function holdable(delayMs: number): boolean {
  return typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs * 1000 <= MAX_HOLD_US;
}

export type { AcquireOptions, Acquirer, Cost, Decision, LimiterSnapshot } from './acquirer.js';
