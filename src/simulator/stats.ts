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
  readonly dimensions: Readonly<Partial<Record<RateDimension, DimensionStats>>>;
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

const INTERVAL_MS = 100;
const MAX_POINTS = 100_000;

/** Counters behind `sim.stats()`. All times are passed in from the simulator's clock. */
export class StatsRecorder {
  private requests = 0;
  private readonly statuses: Record<string, number> = {};
  private admitted = 0;
  private rejected = 0;
  private readonly charged: Partial<Record<RateDimension, number>> = {};
  private readonly rejectedBy: Partial<Record<RateDimension, number>> = {};
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

  rejectedByLimits(dimensions: readonly RateDimension[], now: number): void {
    this.rejected++;
    for (const d of dimensions) this.rejectedBy[d] = (this.rejectedBy[d] ?? 0) + 1;
    this.point(now).rejected++;
  }

  rejectedByConcurrency(now: number): void {
    this.rejected++;
    this.concurrencyRejected++;
    this.point(now).rejected++;
  }

  admit(
    costs: Partial<Record<RateDimension, number>>,
    input: { input: number; cacheCreation: number; cacheRead: number; charged: number },
    now: number,
  ): void {
    this.admitted++;
    for (const [d, units] of Object.entries(costs) as [RateDimension, number][])
      this.charged[d] = (this.charged[d] ?? 0) + units;
    this.tokens.input += input.input;
    this.tokens.cacheCreation += input.cacheCreation;
    this.tokens.cacheRead += input.cacheRead;
    const point = this.point(now);
    point.admitted++;
    point.inputTokens += input.charged;
  }

  /** A settlement: `refunds` given back per dimension, `outputTokens` actually produced. */
  settle(refunds: Partial<Record<RateDimension, number>>, outputTokens: number, now: number): void {
    for (const [d, units] of Object.entries(refunds) as [RateDimension, number][])
      this.charged[d] = (this.charged[d] ?? 0) - units;
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

  snapshot(now: number, buckets: readonly DimensionSnapshot[]): SimulatorStats {
    const dimensions: Partial<Record<RateDimension, DimensionStats>> = {};
    for (const b of buckets) {
      dimensions[b.dimension] = {
        limit: b.limit,
        capacity: b.capacity,
        remaining: b.remaining,
        charged: this.charged[b.dimension] ?? 0,
        rejected: this.rejectedBy[b.dimension] ?? 0,
      };
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
