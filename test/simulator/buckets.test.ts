import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adjust, fullAfter, fullBucket, levelAt, waitFor } from '../../src/simulator/buckets.js';
import { retryAfterSeconds } from '../../src/simulator/durations.js';
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
            // Admission is exactly "every bucket holds its cost" (to float noise), all-or-nothing.
            const holds = (level: number, cost: number, dim: 'rpm' | 'itpm' | 'otpm') =>
              level >= cost - 1e-9 * buckets.capacityOf(dim)!;
            const fits =
              holds(before.rpm, 1, 'rpm') &&
              holds(before.itpm, op.itpm, 'itpm') &&
              holds(before.otpm, op.otpm, 'otpm');
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

describe('retry-after is always enough (float noise at whole seconds)', () => {
  // The case behind the HTTP property's one-off 30 s timeout (issue 13): 755 input tokens missing
  // at 2000/min is exactly 18 s, but 154.99999999999994 + 18000 * (2000 / 60000) sums to
  // 754.9999999999999, and the request was refused again "for 3.4e-12 ms". The property then
  // failed, and fast-check's shrinking, one HTTP simulator per attempt, outran the test timeout.
  it('admits the request refused 18 s earlier when 18 s have passed', () => {
    const start = 1_700_000_000_000;
    const buckets = new RateBuckets({ rpm: 20, itpm: 2000, otpm: 1500 }, new Set(), start);
    const history: readonly [atMs: number, itpm: number][] = [
      [0, 242],
      [0, 319],
      [1956, 106],
      [3987, 570],
      [5976, 632],
      [15_976, 658],
      [20_970, 0],
      [38_128, 725],
    ];
    for (const [at, itpm] of history) {
      expect(buckets.tryAdmit({ rpm: 1, itpm, otpm: 1 }, start + at).admitted).toBe(true);
    }
    const refused = buckets.tryAdmit({ rpm: 1, itpm: 755, otpm: 1 }, start + 42_210);
    expect(refused).toMatchObject({ admitted: false, failing: ['itpm'] });
    const wait = retryAfterSeconds(refused.admitted ? 0 : refused.retryAfterMs);
    expect(wait).toBe(18);
    expect(buckets.tryAdmit({ rpm: 1, itpm: 755, otpm: 1 }, start + 42_210 + wait * 1000)).toEqual({
      admitted: true,
    });
    expect(buckets.available('itpm', start + 60_210)).toBeGreaterThanOrEqual(0);
  });

  it('holds for any history: waiting the whole seconds of retry-after admits (property)', () => {
    const step = fc.record({
      pauseMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 })),
      itpm: fc.integer({ min: 0, max: 1000 }),
      otpm: fc.integer({ min: 1, max: 800 }),
      used: fc.double({ min: 0, max: 1, noNaN: true }),
      retry: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => {
        let now = 1_700_000_000_000;
        const buckets = new RateBuckets({ rpm: 20, itpm: 2000, otpm: 1500 }, new Set(), now);
        for (const s of steps) {
          now += s.pauseMs;
          const costs = { rpm: 1, itpm: s.itpm, otpm: s.otpm };
          let decision = buckets.tryAdmit(costs, now);
          if (!decision.admitted) {
            if (!s.retry) continue;
            now += retryAfterSeconds(decision.retryAfterMs) * 1000;
            decision = buckets.tryAdmit(costs, now);
            expect(decision).toEqual({ admitted: true });
          }
          buckets.settle('otpm', Math.floor(s.otpm * (1 - s.used)), now);
          for (const d of ['rpm', 'itpm', 'otpm'] as const)
            expect(buckets.available(d, now)).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
