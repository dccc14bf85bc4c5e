import type { FaultKind } from './faults.js';
import type { RateDimension, SimulatedProvider } from './options.js';
import type { DimensionSnapshot } from './rate-buckets.js';

/** Activity in one 100 ms interval. */
export interface SeriesPoint {
  /** Start of the interval, in ms since the simulator started. */
  readonly t: number;
  /** Requests admitted (charged) in the interval. */
  readonly admitted: number;
  /** Requests refused with a 429 by the limits (not by faults) in the interval. */
  readonly rejected: number;
  /** Input tokens charged at admission: ITPM units (Anthropic) or prompt tokens (OpenAI). */
  readonly inputTokens: number;
  /** Actual output tokens, counted when each response ended. */
  readonly outputTokens: number;
}

export interface DimensionStats {
  /** Configured per-minute limit. */
  readonly limit: number;
  /** Bucket capacity (limit, or limit/60 when enforced per second). */
  readonly capacity: number;
  /** Units available now. */
  readonly remaining: number;
  /** Units charged by admitted requests, net of settlement refunds. */
  readonly charged: number;
  /** Requests refused because this dimension lacked capacity. */
  readonly rejected: number;
}

/** One model class's buckets and counters (each class has its own buckets). */
export interface ClassStats {
  readonly dimensions: Readonly<Partial<Record<RateDimension, DimensionStats>>>;
  /** Requests of this class admitted. */
  readonly admitted: number;
  /** Requests of this class refused by its limits. */
  readonly rejected: number;
}

export interface SimulatorStats {
  readonly provider: SimulatedProvider;
  /** Clock time at start, in ms since the epoch. */
  readonly startedAt: number;
  readonly elapsedMs: number;
  /** HTTP requests received, whatever their fate. */
  readonly requests: number;
  /** Responses per HTTP status, e.g. `{ '200': 40, '429': 3 }`. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests that passed every limit and were charged. */
  readonly admitted: number;
  /** Requests refused by a limit (a dimension or the concurrency cap). */
  readonly rejected: number;
  /**
   * Per dimension, summed over the model classes in use: with one class, that class's buckets;
   * before any request, the fresh buckets of `limits`. Each class is in `classes`.
   */
  readonly dimensions: Readonly<Partial<Record<RateDimension, DimensionStats>>>;
  /** Per model class (its preset class, else the model name), once used or when configured. */
  readonly classes: Readonly<Record<string, ClassStats>>;
  /** What the other consumer (`background`) has spent, in units per dimension, all classes. */
  readonly background: { readonly spent: Readonly<Partial<Record<RateDimension, number>>> };
  /** The spend cap: when it lifts (ms since the epoch, `null` when not reached) and refusals. */
  readonly spendCap: { readonly until: number | null; readonly refused: number };
  readonly concurrency: {
    readonly current: number;
    readonly peak: number;
    readonly limit: number | null;
    readonly rejected: number;
  };
  /** Faults injected, by kind. */
  readonly faults: Readonly<Partial<Record<FaultKind, number>>>;
  /** Requests whose client went away before the response ended. */
  readonly clientAborts: number;
  /** Tokens of admitted requests. */
  readonly tokens: {
    readonly input: number;
    readonly cacheCreation: number;
    readonly cacheRead: number;
    readonly output: number;
  };
  readonly series: {
    readonly intervalMs: number;
    readonly points: readonly SeriesPoint[];
    /** True when the series stopped growing at its cap (about 3 hours of activity). */
    readonly truncated: boolean;
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface ClassCounters {
  readonly charged: Partial<Record<RateDimension, number>>;
  readonly rejectedBy: Partial<Record<RateDimension, number>>;
  admitted: number;
  rejected: number;
}

const INTERVAL_MS = 100;
const MAX_POINTS = 100_000;

/** Counters behind `sim.stats()`. All times are passed in from the simulator's clock. */
export class StatsRecorder {
  private requests = 0;
  private readonly statuses: Record<string, number> = {};
  private admitted = 0;
  private rejected = 0;
  /** Per class: units charged and refusals per dimension, admitted and rejected requests. */
  private readonly perClass = new Map<string, ClassCounters>();
  private spendCapRefusals = 0;
  private current = 0;
  private peak = 0;
  private concurrencyRejected = 0;
  private readonly faults: Partial<Record<FaultKind, number>> = {};
  private clientAborts = 0;
  private readonly tokens = { input: 0, cacheCreation: 0, cacheRead: 0, output: 0 };
  private readonly points = new Map<number, Mutable<SeriesPoint>>();
  private truncated = false;

  constructor(
    private readonly provider: SimulatedProvider,
    private readonly startedAt: number,
    private readonly concurrencyLimit: number | undefined,
  ) {}

  request(): void {
    this.requests++;
  }

  status(code: number): void {
    this.statuses[code] = (this.statuses[code] ?? 0) + 1;
  }

  fault(kind: FaultKind): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  clientAbort(): void {
    this.clientAborts++;
  }

  rejectedByLimits(modelClass: string, dimensions: readonly RateDimension[], now: number): void {
    this.rejected++;
    const counters = this.counters(modelClass);
    counters.rejected++;
    for (const d of dimensions) counters.rejectedBy[d] = (counters.rejectedBy[d] ?? 0) + 1;
    this.point(now).rejected++;
  }

  spendCapRefused(): void {
    this.spendCapRefusals++;
  }

  rejectedByConcurrency(now: number): void {
    this.rejected++;
    this.concurrencyRejected++;
    this.point(now).rejected++;
  }

  admit(
    modelClass: string,
    costs: Partial<Record<RateDimension, number>>,
    input: { input: number; cacheCreation: number; cacheRead: number; charged: number },
    now: number,
  ): void {
    this.admitted++;
    const counters = this.counters(modelClass);
    counters.admitted++;
    for (const [d, units] of Object.entries(costs) as [RateDimension, number][])
      counters.charged[d] = (counters.charged[d] ?? 0) + units;
    this.tokens.input += input.input;
    this.tokens.cacheCreation += input.cacheCreation;
    this.tokens.cacheRead += input.cacheRead;
    const point = this.point(now);
    point.admitted++;
    point.inputTokens += input.charged;
  }

  /** Output tokens charged as they are generated. */
  charge(modelClass: string, dimensions: readonly RateDimension[], units: number): void {
    const counters = this.counters(modelClass);
    for (const d of dimensions) counters.charged[d] = (counters.charged[d] ?? 0) + units;
  }

  /** A settlement: `refunds` given back per dimension, `outputTokens` actually produced. */
  settle(
    modelClass: string,
    refunds: Partial<Record<RateDimension, number>>,
    outputTokens: number,
    now: number,
  ): void {
    const counters = this.counters(modelClass);
    for (const [d, units] of Object.entries(refunds) as [RateDimension, number][])
      counters.charged[d] = (counters.charged[d] ?? 0) - units;
    this.tokens.output += outputTokens;
    this.point(now).outputTokens += outputTokens;
  }

  enter(): void {
    this.current++;
    this.peak = Math.max(this.peak, this.current);
  }

  leave(): void {
    this.current--;
  }

  get inFlight(): number {
    return this.current;
  }

  /** The stats of one class from its buckets now. */
  classStats(modelClass: string, buckets: readonly DimensionSnapshot[]): ClassStats {
    const counters = this.counters(modelClass);
    const dimensions: Partial<Record<RateDimension, DimensionStats>> = {};
    for (const b of buckets) {
      dimensions[b.dimension] = {
        limit: b.limit,
        capacity: b.capacity,
        remaining: b.remaining,
        charged: counters.charged[b.dimension] ?? 0,
        rejected: counters.rejectedBy[b.dimension] ?? 0,
      };
    }
    return { dimensions, admitted: counters.admitted, rejected: counters.rejected };
  }

  snapshot(
    now: number,
    state: {
      /** Fresh buckets of `limits`, shown when no class is in use yet. */
      readonly sole: readonly DimensionSnapshot[] | undefined;
      readonly classes: Readonly<Record<string, ClassStats>>;
      readonly background: Partial<Record<RateDimension, number>>;
      readonly spendCapUntil: number | undefined;
    },
  ): SimulatorStats {
    const dimensions: Partial<Record<RateDimension, Mutable<DimensionStats>>> = {};
    const perClass = state.sole ? [this.classStats('', state.sole)] : Object.values(state.classes);
    for (const c of perClass) {
      for (const [d, s] of Object.entries(c.dimensions) as [RateDimension, DimensionStats][]) {
        const sum = dimensions[d] ?? {
          limit: 0,
          capacity: 0,
          remaining: 0,
          charged: 0,
          rejected: 0,
        };
        dimensions[d] = sum;
        sum.limit += s.limit;
        sum.capacity += s.capacity;
        sum.remaining += s.remaining;
        sum.charged += s.charged;
        sum.rejected += s.rejected;
      }
    }
    return {
      provider: this.provider,
      startedAt: this.startedAt,
      elapsedMs: now - this.startedAt,
      requests: this.requests,
      statuses: { ...this.statuses },
      admitted: this.admitted,
      rejected: this.rejected,
      dimensions,
      classes: state.classes,
      background: { spent: state.background },
      spendCap: { until: state.spendCapUntil ?? null, refused: this.spendCapRefusals },
      concurrency: {
        current: this.current,
        peak: this.peak,
        limit: this.concurrencyLimit ?? null,
        rejected: this.concurrencyRejected,
      },
      faults: { ...this.faults },
      clientAborts: this.clientAborts,
      tokens: { ...this.tokens },
      series: {
        intervalMs: INTERVAL_MS,
        points: [...this.points.values()].sort((a, b) => a.t - b.t).map((p) => ({ ...p })),
        truncated: this.truncated,
      },
    };
  }

  private counters(modelClass: string): ClassCounters {
    let counters = this.perClass.get(modelClass);
    if (!counters) {
      counters = { charged: {}, rejectedBy: {}, admitted: 0, rejected: 0 };
      this.perClass.set(modelClass, counters);
    }
    return counters;
  }

  private point(now: number): Mutable<SeriesPoint> {
    const t = Math.floor(Math.max(0, now - this.startedAt) / INTERVAL_MS) * INTERVAL_MS;
    let point = this.points.get(t);
    if (!point) {
      point = { t, admitted: 0, rejected: 0, inputTokens: 0, outputTokens: 0 };
      // Past the cap, activity still counts in the totals but no longer in the series.
      if (this.points.size >= MAX_POINTS) this.truncated = true;
      else this.points.set(t, point);
    }
    return point;
  }
}
