import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fullJitterBackoff, fullJitterDelay, jitterCeiling } from '../../src/retry/backoff.js';

describe('full-jitter backoff', () => {
  it('draws uniformly below min(maxDelayMs, baseDelayMs * 2^attempt)', () => {
    const params = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 4, 50].map((a) => jitterCeiling(params, a))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(fullJitterDelay(params, 2, () => 0.5)).toBe(200);
    expect(fullJitterDelay(params, 2, () => 0)).toBe(0);
  });

  it('is a value: next() gives the following step', () => {
    const draws = [0.5, 0.5, 0.5];
    const b0 = fullJitterBackoff({ baseDelayMs: 10, maxDelayMs: 100 }, () => draws.shift() ?? 0);
    const b1 = b0.next();
    const b2 = b1.next();
    expect([b0, b1, b2].map((b) => [b.attempt, b.ceilingMs, b.duration])).toEqual([
      [0, 10, 5],
      [1, 20, 10],
      [2, 40, 20],
    ]);
  });

  it('property: any parameters, attempt and random source give a finite delay in [0, ceiling]', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.integer({ min: -5, max: 100_000 }),
        fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1, 2)),
        (a, b, attempt, draw) => {
          const params = { baseDelayMs: Math.min(a, b), maxDelayMs: Math.max(a, b) };
          const ceiling = jitterCeiling(params, attempt);
          const delay = fullJitterDelay(params, attempt, () => draw);
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(ceiling).toBeLessThanOrEqual(params.maxDelayMs);
          expect(jitterCeiling(params, attempt + 1)).toBeGreaterThanOrEqual(ceiling);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
