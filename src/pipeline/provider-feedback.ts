/**
 * What the provider says about the budget, applied to it. Configured limits are a guess (a wrong
 * tier, another service on the same organisation, a provider change); every response carries
 * the provider's own figures. Three rules, each only ever lowering what was configured:
 * - a `limit` header below the configured limit is adopted (times `utilization`);
 * - a `remaining` header below what the budget believes brings the budget down to it, before
 *   the response's own settle (both then count the same calls);
 * - 429s that no header explains (no dimension at 0: another consumer, a provider change) cut
 *   the rate by a fifth; after a quiet period it climbs back a tenth at a time.
 * A `remaining` figure lowers the budget less the key's estimate of what others spend between
 * two figures (kept and fed by the store, the same for every worker: bucket-queue.ts `lowerTo`),
 * so that the budget does not run ahead of the provider until the next figure.
 */
import type { Budget } from '../limiter/budget.js';
import type { RateLimitDimensionName, RateLimitHeaders } from '../providers/rate-limit-headers.js';
import type { Provider } from '../providers/usage.js';
import type { DimensionName } from './accounting.js';

/** A dimension's limit changed. */
export interface LimitChangeEvent {
  readonly modelClass: string;
  readonly dimension: DimensionName;
  readonly from: number;
  readonly to: number;
  /** `provider-limit`: the headers report a lower limit; `adaptive`: unexplained 429s, or quiet. */
  readonly reason: 'provider-limit' | 'adaptive';
}

/** What the feedback has changed, for `inspect()`. */
export interface FeedbackSnapshot {
  readonly modelClass: string;
  /** Share of the limits in force after unexplained 429s (1: none). */
  readonly adaptiveFactor: number;
  /** Limits the provider's headers reported, where below the configured ones. */
  readonly providerLimits: Partial<Record<DimensionName, number>>;
  /** Epoch ms until which a quota refusal stops the budget (calls get QuotaExhaustedError). */
  readonly quotaStoppedUntil?: number;
  /**
   * Units per dimension that others (another service on the organisation) spend between two of
   * the provider's figures, as the budget estimates it (the latest this process read): each
   * figure lowers the budget by as much besides.
   */
  readonly outsideSpend: Partial<Record<DimensionName, number>>;
}

/** Which header dimension feeds which budget dimension. */
const HEADER_DIMENSIONS: Record<
  Provider,
  Partial<Record<RateLimitDimensionName, DimensionName>>
> = {
  anthropic: { requests: 'rpm', 'input-tokens': 'itpm', 'output-tokens': 'otpm' },
  openai: { requests: 'rpm', tokens: 'tpm' },
};

/** The period the providers' `limit` headers count in: a minute. */
const HEADER_PERIOD_MS = 60_000;

/**
 * Anthropic rounds token `remaining` to the nearest thousand (of a minute's bucket): trust it to
 * within half, at the budget's scale.
 */
function roundingOf(provider: Provider, dimension: DimensionName, scale: number): number {
  return provider === 'anthropic' && dimension !== 'rpm' ? Math.ceil(500 * scale) : 0;
}

/** Cut of the rate per unexplained 429 (the seeds' advice), its floor and its climb back. */
const DECREASE = 0.8;
const FLOOR = 0.1;
const INCREASE = 0.1;
/** Cuts heard from other workers within this many ms of the last are one. */
const HEARD_CUT_GAP_MS = 1000;
/** ms between two rounds of `remaining` figures applied to the budget. */
const LOWER_EVERY_MS = 100;

export interface FeedbackOptions {
  readonly provider: Provider;
  readonly modelClass: string;
  readonly budget: Budget;
  /** The global dimensions' names, in the budget's order (tenant ones follow, unchanged). */
  readonly dimensions: readonly DimensionName[];
  /** Configured limits per dimension, before `utilization`. */
  readonly configured: readonly number[];
  readonly utilization: number;
  /**
   * The limits' period in ms: header limits (per minute) are scaled to it, and it is the quiet
   * time before the rate climbs back a step after unexplained 429s.
   */
  readonly periodMs: number;
  readonly onLimitChange: (event: LimitChangeEvent) => void;
}

export class ProviderFeedback {
  private factor = 1;
  private resumeAt = Number.NEGATIVE_INFINITY;
  private lastLoweredAt = Number.NEGATIVE_INFINITY;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastStepAt = Number.NEGATIVE_INFINITY;
  private readonly providerLimits: (number | undefined)[];
  /** The same, as the headers state them (per minute), to tell other workers. */
  private readonly headerLimits: Partial<Record<DimensionName, number>> = {};

  /** Per global dimension: units others spend between two figures, as the store last said. */
  private readonly outside: number[];

  constructor(private readonly o: FeedbackOptions) {
    this.providerLimits = o.dimensions.map(() => undefined);
    this.outside = o.dimensions.map(() => 0);
  }

  /**
   * A stream's rate-limit headers, read when they arrive (its settle comes at its end): the
   * budget comes down to the `remaining` figures (a store operation per dimension) and the limits
   * are read. Returns the store operations it started.
   */
  observe(headers: RateLimitHeaders, nowMs: number): Promise<unknown> {
    const left = this.remainingOf(headers, nowMs);
    const work: Promise<unknown>[] = [];
    left?.forEach((remaining, i) => {
      if (remaining === undefined) return;
      const lowered = this.o.budget.lowerTo(this.o.dimensions[i]!, remaining);
      work.push(
        lowered.then((outside) => {
          if (outside !== undefined) this.outside[i] = outside;
        }),
      );
    });
    this.readLimits(headers, nowMs);
    return Promise.all(work);
  }

  /**
   * The `remaining` figures of a response (per global dimension, where given, with the
   * provider's rounding allowed for), for its settle to bring the budget down to in the same
   * store operation; `undefined` within 100 ms of the last round (on Redis each round costs
   * script work on every dimension; spending by others still reaches the budget within it).
   */
  remainingOf(headers: RateLimitHeaders, nowMs: number): (number | undefined)[] | undefined {
    if (nowMs - this.lastLoweredAt < LOWER_EVERY_MS) return undefined;
    // Figures of a bucket whose lower limit the budget has yet to adopt: the gap to them is the
    // configured limit's excess, not others' spending; the limit comes down first (readLimits).
    if (this.limitsWouldChange(headers)) return undefined;
    const { provider, dimensions } = this.o;
    const left: (number | undefined)[] = dimensions.map(() => undefined);
    let any = false;
    for (const [header, name] of Object.entries(HEADER_DIMENSIONS[provider])) {
      const remaining = headers[header as RateLimitDimensionName]?.remaining;
      const index = dimensions.indexOf(name);
      if (remaining === undefined || index < 0) continue;
      left[index] = remaining + roundingOf(provider, name, this.scale);
      any = true;
    }
    if (!any) return undefined;
    this.lastLoweredAt = nowMs;
    return left;
  }

  /** The store's estimate of others' spending, per dimension, after a settle's figures. */
  noteOutside(outside: readonly (number | undefined)[] | undefined): void {
    this.o.dimensions.forEach((_, i) => {
      const units = outside?.[i];
      if (units !== undefined) this.outside[i] = units;
    });
  }

  /** Whether `headers` report a limit below the configured one that is not adopted yet. */
  private limitsWouldChange(headers: RateLimitHeaders): boolean {
    const { provider, dimensions } = this.o;
    for (const [header, name] of Object.entries(HEADER_DIMENSIONS[provider])) {
      const limit = headers[header as RateLimitDimensionName]?.limit;
      const index = dimensions.indexOf(name);
      if (limit !== undefined && index >= 0 && this.newLimit(index, limit) !== undefined)
        return true;
    }
    return false;
  }

  /**
   * A response's limits (any status), after its settle: a lower provider limit is adopted, and
   * after quiet periods the adaptive rate climbs back.
   */
  readLimits(headers: RateLimitHeaders, nowMs: number): void {
    const { provider, dimensions } = this.o;
    let limitsChanged = false;
    for (const [header, name] of Object.entries(HEADER_DIMENSIONS[provider])) {
      const limit = headers[header as RateLimitDimensionName]?.limit;
      const index = dimensions.indexOf(name);
      if (limit !== undefined && index >= 0 && this.noteLimit(index, limit)) limitsChanged = true;
    }
    if (limitsChanged) this.apply('provider-limit');
    if (this.factor < 1 && nowMs - this.lastCutAt >= this.o.periodMs) {
      if (nowMs - this.lastStepAt >= this.o.periodMs) {
        this.lastStepAt = nowMs;
        this.factor = Math.min(1, this.factor + INCREASE);
        this.apply('adaptive');
      }
    }
  }

  /** Limits another worker read in the provider's headers (per minute, as the headers state). */
  adopt(limits: Readonly<Record<string, number>>): void {
    let changed = false;
    for (const [name, limit] of Object.entries(limits)) {
      const index = this.o.dimensions.indexOf(name as DimensionName);
      if (index >= 0 && this.noteLimit(index, limit)) changed = true;
    }
    if (changed) this.apply('provider-limit');
  }

  /** The provider limits read so far, per minute as the headers state them (for other workers). */
  get reportedLimits(): Readonly<Partial<Record<DimensionName, number>>> {
    return this.headerLimits;
  }

  /**
   * A header limit (per minute) of dimension `index`, at the budget's period, when it is below the
   * configured limit and not the one adopted already; else undefined.
   */
  private newLimit(index: number, headerLimit: number): number | undefined {
    const limit = Math.floor(headerLimit * this.scale);
    if (!(limit > 0 && limit < this.o.configured[index]!)) return undefined;
    return this.providerLimits[index] === limit ? undefined : limit;
  }

  /** Records a header limit (per minute) of dimension `index`; true when it lowers a limit anew. */
  private noteLimit(index: number, headerLimit: number): boolean {
    const limit = this.newLimit(index, headerLimit);
    if (limit === undefined) return false;
    this.providerLimits[index] = limit;
    this.headerLimits[this.o.dimensions[index]!] = headerLimit;
    return true;
  }

  /**
   * A 429 whose headers show no dimension exhausted: someone the budget cannot see is spending
   * the quota. One cut per `minGapMs` (a burst of 429s from one cause is one signal).
   */
  unexplained429(nowMs: number, minGapMs: number): boolean {
    if (nowMs - this.lastCutAt < minGapMs) return false;
    this.lastCutAt = nowMs;
    this.lastStepAt = nowMs;
    this.factor = Math.max(FLOOR, this.factor * DECREASE);
    this.apply('adaptive');
    return true;
  }

  /**
   * Another worker of the budget cut its rate at `cutAt` (epoch ms): this one follows, once per
   * second at most (a burst of 429s across the fleet is one signal; its own cut comes back too).
   * A cut older than a period (read from the record by a worker starting later) is history.
   */
  cutHeard(cutAt: number, nowMs: number): void {
    if (nowMs - cutAt > this.o.periodMs) return;
    this.unexplained429(cutAt, HEARD_CUT_GAP_MS);
  }

  /**
   * The provider refused for billing or quota: no call of this budget is sent before `resumeAt`
   * (from this process; other workers sharing the budget find every dimension held until then).
   */
  stop(resumeAt: number, nowMs: number): void {
    this.resumeAt = Math.max(this.resumeAt, resumeAt);
    const forMs = resumeAt - nowMs;
    if (!(forMs > 0)) return;
    for (const name of this.o.dimensions) {
      this.o.budget.holdFor(name, forMs).catch(() => undefined);
    }
  }

  /**
   * Another worker met the quota refusal (it held the shared budget already): calls of this
   * process get QuotaExhaustedError until `resumeAt` too, and inspect() says so.
   */
  stopped(resumeAt: number): void {
    this.resumeAt = Math.max(this.resumeAt, resumeAt);
  }

  /** Epoch ms until which the budget is stopped for quota, when later than `nowMs`. */
  stoppedUntil(nowMs: number): number | undefined {
    return this.resumeAt > nowMs ? this.resumeAt : undefined;
  }

  /** The limits' period, in ms: how long a quota refusal without a stated end stops the budget. */
  get periodMs(): number {
    return this.o.periodMs;
  }

  /** Budget units per header unit: the budget's period over the headers' minute. */
  private get scale(): number {
    return this.o.periodMs / HEADER_PERIOD_MS;
  }

  snapshot(nowMs: number): FeedbackSnapshot {
    const providerLimits: Partial<Record<DimensionName, number>> = {};
    this.o.dimensions.forEach((name, i) => {
      const limit = this.providerLimits[i];
      if (limit !== undefined) providerLimits[name] = limit;
    });
    const outsideSpend: Partial<Record<DimensionName, number>> = {};
    this.o.dimensions.forEach((name, i) => {
      if (this.outside[i]! >= 1) outsideSpend[name] = this.outside[i]!;
    });
    const stopped = this.stoppedUntil(nowMs);
    return {
      modelClass: this.o.modelClass,
      adaptiveFactor: Math.round(this.factor * 1000) / 1000,
      providerLimits,
      outsideSpend,
      ...(stopped !== undefined ? { quotaStoppedUntil: Math.round(stopped) } : {}),
    };
  }

  /** Sets each dimension to min(configured, provider's) x utilization x the adaptive factor. */
  private apply(reason: LimitChangeEvent['reason']): void {
    const { budget, dimensions, configured, utilization } = this.o;
    dimensions.forEach((name, i) => {
      const base = Math.min(configured[i]!, this.providerLimits[i] ?? Number.POSITIVE_INFINITY);
      const to = Math.max(1, Math.floor(base * utilization * this.factor));
      const from = budget.dimensions[i]!.limit;
      if (to === from) return;
      budget.setLimit(name, to);
      this.o.onLimitChange({ modelClass: this.o.modelClass, dimension: name, from, to, reason });
    });
  }
}
