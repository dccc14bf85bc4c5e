/**
 * RedisStore against MemoryStore: for random operation sequences on a shared test clock, both
 * make the same decisions and report the same numbers (waits, binding member, free schedule,
 * grant sequence numbers), step by step. The Lua is a mirror of the TypeScript math; this holds
 * it to that.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore, RedisStore } from '../../src/limiter/index.js';
import { costUs } from '../../src/limiter/rate.js';
import type { Grant, LimiterSpec } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { memberSpecs, specParamsArb } from '../support/limiter-specs.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis();

const specArb = specParamsArb(40);

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);

/** True when some key of the MemoryStore has dropped ledger entries (its floor moved). */
function ledgerOverflowed(memory: MemoryStore): boolean {
  type Entries = Map<string, { state: unknown }>;
  const maps = memory as unknown as { gcraEntries: Entries; bucketEntries: Entries };
  for (const entries of [maps.gcraEntries, maps.bucketEntries]) {
    for (const { state } of entries.values()) {
      if ((state as { ledger: { floor: number } }).ledger.floor > 0) return true;
    }
  }
  return false;
}

const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      members: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
      copies: fc.oneof(
        fc.constant(1),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 17, max: 24 }),
      ),
      costs: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 3, maxLength: 3 }),
      maxWaitUs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 4_000_000 }),
        fc.constant(Number.MAX_SAFE_INTEGER),
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      us: fc.integer({ min: 0, max: 2_000_000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      pick: fc.nat(),
      share: fc.integer({ min: 1, max: 100 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('charge' as const),
      member: fc.integer({ min: 0, max: 3 }),
      us: fc.integer({ min: 0, max: 3_000_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      member: fc.integer({ min: 0, max: 3 }),
      us: fc.integer({ min: 0, max: 3_000_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('look' as const),
      member: fc.integer({ min: 0, max: 3 }),
    }),
  },
);

describe('RedisStore and MemoryStore', () => {
  it('make the same decisions for random operation sequences', async () => {
    let steps = 0;
    let overflowed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb, { minLength: 4, maxLength: 4 }),
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        async (params, ops) => {
          const clock = new ManualClock(1_700_000_000_000 + Math.random() * 1e9);
          const memory = new MemoryStore();
          const store = new RedisStore(redis(), { prefix: uniquePrefix('diff'), clock });
          const specs = memberSpecs(params, '{x}');
          const grants: Array<{ spec: LimiterSpec; memory: Grant; redis: Grant }> = [];
          const nowUs = () => Math.floor(clock.now() * 1000);
          for (const op of ops) {
            steps++;
            switch (op.kind) {
              case 'advance':
                clock.set(clock.now() + op.us / 1000);
                break;
              case 'reserve': {
                const members = op.members.map((m) => specs[m]!);
                const costs = members.map((s, i) =>
                  costUs(s.rate, Math.min(op.costs[i]!, s.rate.burst)),
                );
                const now = nowUs();
                // \`copies\` reservations at once: Redis decides them in one batch, in order,
                // as MemoryStore does one after the other.
                const expected = [];
                for (let c = 0; c < op.copies; c++) {
                  expected.push(await memory.reserve(members, costs, op.maxWaitUs, now));
                }
                const actual = await Promise.all(
                  expected.map(() => store.reserve(members, costs, op.maxWaitUs, now)),
                );
                expected.forEach((a, c) => {
                  const { serverNowUs, ...b } = actual[c]!;
                  expect(b).toEqual(a);
                  expect(serverNowUs).toBe(now);
                  if (a.granted && b.granted) {
                    members.forEach((spec, i) => {
                      grants.push({ spec, memory: a.grants[i]!, redis: b.grants[i]! });
                    });
                  }
                });
                break;
              }
              case 'refund': {
                const g = grants[op.pick % Math.max(1, grants.length)];
                if (!g) break;
                const us = Math.ceil((g.memory.costUs * op.share) / 100);
                await memory.refund(g.spec, g.memory, us, nowUs());
                await store.refund(g.spec, g.redis, us, nowUs());
                break;
              }
              case 'charge':
                await memory.charge(specs[op.member]!, op.us, nowUs());
                await store.charge(specs[op.member]!, op.us, nowUs());
                break;
              case 'hold':
                await memory.hold(specs[op.member]!, op.us, nowUs());
                await store.hold(specs[op.member]!, op.us, nowUs());
                break;
              case 'look':
                expect(await store.look(specs[op.member]!, nowUs())).toEqual(
                  await memory.look(specs[op.member]!, nowUs()),
                );
                break;
            }
          }
          if (ledgerOverflowed(memory)) overflowed++;
          // Final states agree on every key.
          for (const spec of specs) {
            expect(await store.look(spec, nowUs())).toEqual(await memory.look(spec, nowUs()));
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(steps).toBeGreaterThan(5 * RUNS);
    // The generator reaches the ledger's overflow path, where the Lua drops its oldest entry.
    expect(overflowed).toBeGreaterThan(RUNS / 50);
    console.log(`differential: ${steps} steps, ${overflowed} runs overflowed a ledger`);
  });
});
