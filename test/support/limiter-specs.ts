/** Random limiter specs for the tests that hold RedisStore to MemoryStore. */
import fc from 'fast-check';
import { makeRate } from '../../src/limiter/rate.js';
import type { LimiterSpec } from '../../src/limiter/store.js';

/** A limit, period and burst; bursts above LEDGER_SIZE (16) let the refund ledger overflow. */
export function specParamsArb(maxBigBurst: number) {
  return fc.record({
    algorithm: fc.constantFrom('gcra' as const, 'token-bucket' as const),
    limit: fc.integer({ min: 1, max: 50 }),
    periodUs: fc.integer({ min: 1, max: 3_000_000 }),
    burst: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 17, max: maxBigBurst })),
  });
}

export type SpecParams = {
  readonly algorithm: LimiterSpec['algorithm'];
  readonly limit: number;
  readonly periodUs: number;
  readonly burst: number;
};

/**
 * Four specs from four parameter sets. Members 0 and 3 share a name under different algorithms:
 * distinct keys in both stores (a group never holds the same algorithm and name twice).
 */
export function memberSpecs(params: readonly SpecParams[], suffix = ''): LimiterSpec[] {
  return params.map((p, i) => ({
    key: i === 3 ? `k:0${suffix}` : `k:${i}${suffix}`,
    algorithm: i === 3 ? (params[0]!.algorithm === 'gcra' ? 'token-bucket' : 'gcra') : p.algorithm,
    rate: makeRate(p.limit, p.periodUs, p.burst),
  }));
}
