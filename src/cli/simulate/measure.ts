/**
 * The figures of one run, from the simulator's 100 ms series and the calls' own records. Pure.
 *
 * Goodput is the steady-state rate the provider admitted on each dimension, over its limit, taken
 * over the run's last whole periods (`measuredWindow`): the start is left out (the bucket starts
 * full, so a burst-and-die strategy would get a whole period for free), and whole periods give a
 * limiter of fixed windows, which admits a period's quota in a burst at each window's start, one
 * burst per period measured (a window of 1.5 periods, as this read before, held one burst where
 * the rate was two thirds of a limit the limiter kept to exactly). Requests and input
 * tokens count when admitted; output tokens when each response ends, which is what the provider
 * finally keeps (`max_tokens` charged at the start is settled then). The binding quota is the
 * dimension used the most.
 */
import type { SeriesPoint } from '../../simulator/index.js';
import type { Provider, Quota } from './args.js';

export type QuotaDimension = keyof Quota;

/** Units of one dimension in one series point. */
export function unitsOf(dimension: QuotaDimension, point: SeriesPoint): number {
  switch (dimension) {
    case 'rpm':
      return point.admitted;
    case 'itpm':
      return point.inputTokens;
    case 'otpm':
      return point.outputTokens;
    case 'tpm':
      return point.inputTokens + point.outputTokens;
  }
}

export interface Goodput {
  /** The dimension closest to its limit. */
  readonly binding: QuotaDimension;
  /** Its admitted rate over its limit, in [0, 1]. */
  readonly ratio: number;
  /** Every dimension's ratio, unclamped (noise can lift a saturated one a little over 1). */
  readonly byDimension: Readonly<Partial<Record<QuotaDimension, number>>>;
}

/** Admitted rate over the limit per dimension, over the series points in `[fromMs, toMs)`. */
export function goodputOf(
  points: readonly SeriesPoint[],
  quota: Quota,
  periodMs: number,
  fromMs: number,
  toMs: number,
): Goodput {
  const byDimension: Partial<Record<QuotaDimension, number>> = {};
  let binding: QuotaDimension | undefined;
  for (const [dimension, limit] of Object.entries(quota) as [QuotaDimension, number][]) {
    if (!(limit > 0)) continue;
    let used = 0;
    for (const p of points) if (p.t >= fromMs && p.t < toMs) used += unitsOf(dimension, p);
    const allowed = (limit * (toMs - fromMs)) / periodMs;
    const ratio = allowed > 0 ? used / allowed : 0;
    byDimension[dimension] = Number(ratio.toFixed(4));
    if (binding === undefined || ratio > (byDimension[binding] ?? 0)) binding = dimension;
  }
  if (binding === undefined) return { binding: 'rpm', ratio: 0, byDimension };
  const ratio = Math.min(1, Math.max(0, byDimension[binding] ?? 0));
  return { binding, ratio: Number(ratio.toFixed(3)), byDimension };
}

/**
 * The part of a run goodput is measured over: its last whole periods after at least one period
 * and a fifth of the run (the start, while the full starting bucket drains). A run shorter than
 * two periods has no whole period after that: its second half.
 */
export function measuredWindow(
  durationMs: number,
  periodMs: number,
): { readonly fromMs: number; readonly toMs: number } {
  const periods = Math.floor((durationMs - Math.max(periodMs, durationMs / 5)) / periodMs);
  if (periods >= 1) return { fromMs: durationMs - periods * periodMs, toMs: durationMs };
  return { fromMs: durationMs / 2, toMs: durationMs };
}

/** The q-quantile (0..1) of `values` by nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Jain's fairness index of the workers' successes: 1 when every worker got the same share,
 * 1/n when one got everything. 1 when nobody got anything (nothing was unfair).
 */
export function jainIndex(shares: readonly number[]): number {
  const sum = shares.reduce((a, b) => a + b, 0);
  const squares = shares.reduce((a, b) => a + b * b, 0);
  if (shares.length === 0 || squares === 0) return 1;
  return (sum * sum) / (shares.length * squares);
}

/** One point of the chart: the admitted rate just before `t`, as a share of each limit's rate. */
export interface ChartBin {
  /** End of the window, in s since the strategy started. */
  readonly t: number;
  /** Requests admitted in the window, per period, over the requests limit. */
  readonly requests: number;
  /** Tokens in the window, per period, over the limit of the token dimension charted. */
  readonly tokens: number;
  /** Provider 429s since the previous point. */
  readonly rejected: number;
}

/**
 * The series as rates against the limits: every `stepMs`, the units of the trailing `windowMs`
 * (both multiples of the series' 100 ms) scaled to a period, over the limit. A strategy that keeps to the limit's rate draws a line at
 * or under 1; a burst shows above it (the bucket starts full) and a stall as 0.
 */
export function chartBins(
  points: readonly SeriesPoint[],
  quota: Quota,
  periodMs: number,
  tokenDimension: QuotaDimension,
  stepMs: number,
  windowMs: number,
  toMs: number,
): ChartBin[] {
  const bins: ChartBin[] = [];
  for (let t = stepMs; t <= toMs + 1e-9; t += stepMs) {
    let requests = 0;
    let tokens = 0;
    let rejected = 0;
    // The window is shorter at the start of the run.
    const span = Math.min(windowMs, t);
    for (const p of points) {
      // A point covers [p.t, p.t + 100 ms): it counts in the windows that hold all of it.
      if (p.t < t - span || p.t + 100 > t) continue;
      requests += p.admitted;
      tokens += unitsOf(tokenDimension, p);
    }
    for (const p of points) {
      const end = p.t + 100;
      if (end <= t && end > t - stepMs) rejected += p.rejected;
    }
    const perPeriod = periodMs / span;
    bins.push({
      t: t / 1000,
      requests: quota.rpm ? (requests * perPeriod) / quota.rpm : 0,
      tokens: quota[tokenDimension] ? (tokens * perPeriod) / quota[tokenDimension] : 0,
      rejected,
    });
  }
  return bins;
}

/** The token dimension to chart: the binding one if it is a token dimension, else the largest share. */
export function tokenDimensionOf(provider: Provider, goodput: Goodput): QuotaDimension {
  if (goodput.binding !== 'rpm') return goodput.binding;
  if (provider === 'openai') return 'tpm';
  const { itpm = 0, otpm = 0 } = goodput.byDimension;
  return itpm > otpm ? 'itpm' : 'otpm';
}
