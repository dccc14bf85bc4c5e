import {
  adjust,
  type BucketParams,
  type BucketState,
  fullAfter,
  fullBucket,
  levelAt,
  refill,
  waitFor,
} from './buckets.js';
import {
  type BackgroundTraffic,
  DAILY,
  type RateDimension,
  type SimulatorLimits,
} from './options.js';

/** Units each dimension would charge for one request. */
export type Costs = Readonly<Partial<Record<RateDimension, number>>>;

export type Admission =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      /** Dimensions that lacked capacity, in metering order. */
      readonly failing: readonly RateDimension[];
      /** Time until every failing dimension holds its cost; `Infinity` if one never can. */
      readonly retryAfterMs: number;
    };

export interface DimensionSnapshot {
  readonly dimension: RateDimension;
  /** The configured per-minute limit. */
  readonly limit: number;
  /** Bucket capacity: the limit, or limit/60 when enforced per second. */
  readonly capacity: number;
  /** Units available now (rounded down, never negative). */
  readonly remaining: number;
  /** Time until the bucket is full again, in ms. */
  readonly resetAfterMs: number;
}

const ORDER: readonly RateDimension[] = ['rpm', 'itpm', 'otpm', 'tpm', 'rpd', 'tpd'];

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * The organisation's buckets, one per limited dimension. Admission is all-or-nothing: a request
 * is charged on every dimension or on none. Time is passed in, so tests drive it exactly.
 */
export class RateBuckets {
  private readonly params = new Map<RateDimension, BucketParams>();
  private readonly states = new Map<RateDimension, BucketState>();

  private readonly createdAt: number;

  constructor(
    private readonly limits: SimulatorLimits,
    perSecond: ReadonlySet<RateDimension>,
    now: number,
    background: BackgroundTraffic = {},
  ) {
    this.createdAt = now;
    for (const dimension of ORDER) {
      const limit = limits[dimension];
      if (limit === undefined) continue;
      const window = DAILY.has(dimension) ? DAY_MS : MINUTE_MS;
      const refillPerMs = limit / window;
      const perMinute = background.perMinute?.[dimension];
      const drainPerMs =
        perMinute !== undefined ? perMinute / MINUTE_MS : (background.share ?? 0) * refillPerMs;
      const params: BucketParams = {
        capacity: perSecond.has(dimension) ? limit / 60 : limit,
        refillPerMs,
        ...(drainPerMs > 0 && { drainPerMs }),
      };
      this.params.set(dimension, params);
      this.states.set(dimension, fullBucket(params, now));
    }
  }

  /** Units the other consumer (`background`) has spent on each dimension since creation. */
  backgroundSpent(now: number): Partial<Record<RateDimension, number>> {
    const spent: Partial<Record<RateDimension, number>> = {};
    for (const [dimension, params] of this.params) {
      if (params.drainPerMs) spent[dimension] = params.drainPerMs * (now - this.createdAt);
    }
    return spent;
  }

  /** The dimensions with a limit. */
  get dimensions(): readonly RateDimension[] {
    return [...this.params.keys()];
  }

  capacityOf(dimension: RateDimension): number | undefined {
    return this.params.get(dimension)?.capacity;
  }

  /**
   * Charges `costs` on every limited dimension if all of them hold it (and at least `minimums`,
   * which are required but not charged); otherwise nothing.
   */
  tryAdmit(costs: Costs, now: number, minimums: Costs = {}): Admission {
    const failing: RateDimension[] = [];
    let retryAfterMs = 0;
    for (const [dimension, params] of this.params) {
      const needed = Math.max(costs[dimension] ?? 0, minimums[dimension] ?? 0);
      const wait = waitFor(this.state(dimension), params, now, needed);
      if (wait > 0) {
        failing.push(dimension);
        retryAfterMs = Math.max(retryAfterMs, wait);
      }
    }
    if (failing.length > 0) return { admitted: false, failing, retryAfterMs };
    for (const [dimension, params] of this.params) {
      this.states.set(
        dimension,
        adjust(this.state(dimension), params, now, -(costs[dimension] ?? 0)),
      );
    }
    return { admitted: true };
  }

  /** Gives `units` back to a dimension (negative: charges more), e.g. unused `max_tokens`. */
  settle(dimension: RateDimension, units: number, now: number): void {
    const params = this.params.get(dimension);
    if (!params || units === 0) return;
    this.states.set(dimension, adjust(this.state(dimension), params, now, units));
  }

  /** Exact units available on a dimension now (for tests and stats). */
  available(dimension: RateDimension, now: number): number | undefined {
    const params = this.params.get(dimension);
    return params ? levelAt(this.state(dimension), params, now) : undefined;
  }

  snapshot(now: number): DimensionSnapshot[] {
    return [...this.params].map(([dimension, params]) => {
      const state = refill(this.state(dimension), params, now);
      return {
        dimension,
        limit: this.limits[dimension] ?? 0,
        capacity: params.capacity,
        remaining: Math.max(0, Math.floor(state.level)),
        resetAfterMs: fullAfter(state, params, now),
      };
    });
  }

  private state(dimension: RateDimension): BucketState {
    const state = this.states.get(dimension);
    if (!state) throw new Error(`no bucket for ${dimension}`);
    return state;
  }
}
