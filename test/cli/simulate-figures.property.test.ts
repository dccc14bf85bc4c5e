/** The arithmetic behind simulate's table: goodput against the binding quota, quantiles, Jain's index. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chartBins,
  goodputOf,
  jainIndex,
  measuredWindow,
  quantile,
} from '../../src/cli/simulate/measure.js';
import type { SeriesPoint } from '../../src/simulator/index.js';

const point = (t: number, admitted: number, inputTokens: number, outputTokens: number) =>
  ({ t, admitted, rejected: 0, inputTokens, outputTokens }) satisfies SeriesPoint;

describe("Jain's fairness index", () => {
  it('lies in [1/n, 1], is 1 for equal shares and 1/n when one worker gets everything', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 64 }), (shares) => {
        const j = jainIndex(shares);
        expect(j).toBeGreaterThanOrEqual(1 / shares.length - 1e-12);
        expect(j).toBeLessThanOrEqual(1 + 1e-12);
      }),
    );
    expect(jainIndex([5, 5, 5, 5])).toBe(1);
    expect(jainIndex([12, 0, 0, 0])).toBe(0.25);
    expect(jainIndex([0, 0])).toBe(1);
  });
});

describe('quantile (nearest rank)', () => {
  it('returns a member of the values, monotone in q', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1e6 }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(values).toContain(quantile(values, lo));
          expect(quantile(values, lo)).toBeLessThanOrEqual(quantile(values, hi));
        },
      ),
    );
    expect(quantile([40, 10, 30, 20], 0.5)).toBe(20);
    expect(quantile([], 0.95)).toBe(0);
  });
});

describe('goodput against the binding quota', () => {
  it('is the admitted rate over the limit on the most used dimension, in [0, 1]', () => {
    // 1 s periods, 100 ms points: 5 requests and 500 output tokens a point = 50 req/s, 5000 tok/s.
    const points = Array.from({ length: 40 }, (_, i) => point(i * 100, 5, 1000, 500));
    const g = goodputOf(points, { rpm: 100, itpm: 50_000, otpm: 5_000 }, 1_000, 1_000, 4_000);
    expect(g.binding).toBe('otpm');
    expect(g.ratio).toBe(1);
    expect(g.byDimension).toEqual({ rpm: 0.5, itpm: 0.2, otpm: 1 });
  });

  it('never leaves [0, 1] and counts only the window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(50), fc.nat(5_000), fc.nat(5_000)), { maxLength: 100 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 5_000 }),
        (raw, from, length) => {
          const points = raw.map(([a, i, o], k) => point(k * 100, a, i, o));
          const g = goodputOf(points, { rpm: 60, tpm: 9_000 }, 1_000, from, from + length);
          expect(g.ratio).toBeGreaterThanOrEqual(0);
          expect(g.ratio).toBeLessThanOrEqual(1);
          const outside = points.filter((p) => p.t < from || p.t >= from + length);
          const inside = points.filter((p) => p.t >= from && p.t < from + length);
          const g2 = goodputOf(
            [...inside, ...outside.map((p) => ({ ...p, admitted: p.admitted + 7 }))],
            { rpm: 60, tpm: 9_000 },
            1_000,
            from,
            from + length,
          );
          expect(g2).toEqual(g);
        },
      ),
    );
  });

  it('measures the last whole periods after one period and a fifth of the run', () => {
    expect(measuredWindow(8_000, 1_000)).toEqual({ fromMs: 2_000, toMs: 8_000 });
    expect(measuredWindow(30_000, 1_000)).toEqual({ fromMs: 6_000, toMs: 30_000 });
    expect(measuredWindow(180_000, 60_000)).toEqual({ fromMs: 60_000, toMs: 180_000 });
    expect(measuredWindow(150_000, 60_000)).toEqual({ fromMs: 90_000, toMs: 150_000 });
    // Under two periods: the second half.
    expect(measuredWindow(1_500, 1_000)).toEqual({ fromMs: 750, toMs: 1_500 });
  });

  it('counts a limiter of fixed windows, one burst of the quota per period, at its limit', () => {
    // A period's quota admitted in one 100 ms point at the start of every period, as a fixed
    // window limiter admits it: over whole periods its rate is the limit.
    const periodMs = 60_000;
    const points = Array.from({ length: 1_800 }, (_, i) =>
      point(i * 100, i % 600 === 1 ? 50 : 0, 0, 0),
    );
    const { fromMs, toMs } = measuredWindow(180_000, periodMs);
    expect(goodputOf(points, { rpm: 50 }, periodMs, fromMs, toMs).ratio).toBe(1);
  });
});

describe('chart points', () => {
  it('are the rate over the trailing window, per period, over each limit; 429s since the previous point', () => {
    const points = Array.from({ length: 20 }, (_, i) => ({
      ...point(i * 100, i < 10 ? 3 : 0, 100, i < 10 ? 200 : 0),
      rejected: i === 4 ? 2 : 0,
    }));
    const bins = chartBins(points, { rpm: 60, otpm: 8_000 }, 1_000, 'otpm', 500, 500, 2_000);
    expect(bins).toEqual([
      // 15 requests and 1,000 tokens in half a second: 30 and 2,000 a period.
      { t: 0.5, requests: 0.5, tokens: 0.25, rejected: 2 },
      { t: 1, requests: 0.5, tokens: 0.25, rejected: 0 },
      { t: 1.5, requests: 0, tokens: 0, rejected: 0 },
      { t: 2, requests: 0, tokens: 0, rejected: 0 },
    ]);
  });
});
