import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adjust, fullAfter, fullBucket, levelAt, waitFor } from '../../src/simulator/buckets.js';
import { RateBuckets } from '../../src/simulator/rate-buckets.js';

describe('token bucket math', () => {
  const params = { capacity: 60, refillPerMs: 60 / 60_000 };

  it('refills continuously up to capacity', () => {
    const empty = adjust(fullBucket(params, 0), params, 0, -60);
    expect(levelAt(empty, params, 0)).toBe(0);
    expect(levelAt(empty, params, 1000)).toBeCloseTo(1);
    expect(levelAt(empty, params, 30_000)).toBeCloseTo(30);
    expect(levelAt(empty, params, 600_000)).toBe(60);
    expect(fullAfter(empty, params, 0)).toBeCloseTo(60_000);
  });

  it('says how long until a cost fits, and never for a cost above capacity', () => {
    const state = adjust(fullBucket(params, 0), params, 0, -60);
    expect(waitFor(state, params, 0, 2)).toBeCloseTo(2000);
    expect(waitFor(state, params, 2000, 2)).toBe(0);
    expect(waitFor(state, params, 0, 61)).toBe(Number.POSITIVE_INFINITY);
  });
});

const ops = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
    fc.record({
      kind: fc.constant('request' as const),
      rpm: fc.constant(1),
      itpm: fc.integer({ min: 0, max: 3000 }),
      otpm: fc.integer({ min: 1, max: 1500 }),
      used: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  ),
  { maxLength: 120 },
);

describe('RateBuckets admission (property)', () => {
  it('never admits beyond capacity + refill over any window, and refunds never overfill', () => {
    fc.assert(
      fc.property(
        fc.record({
          rpm: fc.integer({ min: 1, max: 100 }),
          itpm: fc.integer({ min: 100, max: 10_000 }),
          otpm: fc.integer({ min: 100, max: 4000 }),
        }),
        fc.boolean(),
        ops,
        (limits, perSecond, sequence) => {
          const buckets = new RateBuckets(limits, new Set(perSecond ? ['itpm', 'otpm'] : []), 0);
          const events: { t: number; dim: 'rpm' | 'itpm' | 'otpm'; units: number }[] = [];
          let now = 0;
          for (const op of sequence) {
            if (op.kind === 'advance') {
              now += op.ms;
              continue;
            }
            const costs = { rpm: op.rpm, itpm: op.itpm, otpm: op.otpm };
            const before = {
              rpm: buckets.available('rpm', now)!,
              itpm: buckets.available('itpm', now)!,
              otpm: buckets.available('otpm', now)!,
            };
            const decision = buckets.tryAdmit(costs, now);
            const fits = before.rpm >= 1 && before.itpm >= op.itpm && before.otpm >= op.otpm;
            // Admission is exactly "every bucket holds its cost", all-or-nothing.
            expect(decision.admitted).toBe(fits);
            if (!decision.admitted) {
              expect(decision.failing.length).toBeGreaterThan(0);
              expect(decision.retryAfterMs).toBeGreaterThan(0);
              expect(buckets.available('itpm', now)).toBe(before.itpm);
              continue;
            }
            events.push(
              { t: now, dim: 'rpm', units: 1 },
              { t: now, dim: 'itpm', units: op.itpm },
              { t: now, dim: 'otpm', units: op.otpm },
            );
            const refund = Math.floor(op.otpm * (1 - op.used));
            buckets.settle('otpm', refund, now);
            events.push({ t: now, dim: 'otpm', units: -refund });
            for (const dim of ['rpm', 'itpm', 'otpm'] as const) {
              const level = buckets.available(dim, now)!;
              expect(level).toBeGreaterThanOrEqual(-1e-9);
              expect(level).toBeLessThanOrEqual(buckets.capacityOf(dim)! + 1e-9);
            }
          }
          // Net units charged in any window [a, b] stay within capacity + refill * (b - a).
          for (const dim of ['rpm', 'itpm', 'otpm'] as const) {
            // Capacity from the configuration, not from the buckets under test.
            const capacity = perSecond && dim !== 'rpm' ? limits[dim] / 60 : limits[dim];
            expect(buckets.capacityOf(dim)).toBe(capacity);
            const rate = limits[dim] / 60_000;
            const mine = events.filter((e) => e.dim === dim);
            for (let i = 0; i < mine.length; i++) {
              let sum = 0;
              for (let j = i; j < mine.length; j++) {
                sum += mine[j]!.units;
                expect(sum).toBeLessThanOrEqual(capacity + rate * (mine[j]!.t - mine[i]!.t) + 1e-6);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('enforces per-second buckets as limit/60 with the same refill', () => {
    const buckets = new RateBuckets({ rpm: 60 }, new Set(['rpm'] as const), 0);
    expect(buckets.capacityOf('rpm')).toBe(1);
    expect(buckets.tryAdmit({ rpm: 1 }, 0).admitted).toBe(true);
    const refused = buckets.tryAdmit({ rpm: 1 }, 500);
    expect(refused).toEqual({ admitted: false, failing: ['rpm'], retryAfterMs: 500 });
    expect(buckets.tryAdmit({ rpm: 1 }, 1000).admitted).toBe(true);
  });
});
