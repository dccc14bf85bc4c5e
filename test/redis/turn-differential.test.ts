/**
 * Refunds, charges and reservations of one event-loop turn on RedisStore (sent in batches)
 * against the same operations applied one by one on MemoryStore: each reservation is decided the
 * same way, every key reads the same afterwards, and the next reservation on every key is decided
 * the same way (sequence numbers and ledgers included). The examples are in turn-order.test.ts.
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

const redis = sharedRedis({ preloadScripts: true });

const specArb = specParamsArb(24);

const setupArb = fc.array(
  fc.record({
    member: fc.integer({ min: 0, max: 3 }),
    cost: fc.integer({ min: 1, max: 8 }),
    advanceUs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 500_000 })),
  }),
  { minLength: 1, maxLength: 24 },
);

const turnOpArb = fc.oneof(
  fc.record({
    kind: fc.constant('reserve' as const),
    member: fc.integer({ min: 0, max: 3 }),
    cost: fc.integer({ min: 1, max: 8 }),
    maxWaitUs: fc.constantFrom(0, Number.MAX_SAFE_INTEGER),
  }),
  fc.record({
    kind: fc.constant('refund' as const),
    pick: fc.nat(),
    share: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(100), fc.constant(300)),
  }),
  fc.record({
    kind: fc.constant('charge' as const),
    member: fc.integer({ min: 0, max: 3 }),
    us: fc.integer({ min: 1, max: 3_000_000 }),
  }),
);

describe('refunds and charges of one turn on Redis', () => {
  it('leave every key as the same operations one by one in memory', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb, { minLength: 4, maxLength: 4 }),
        setupArb,
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.array(turnOpArb, { minLength: 1, maxLength: 40 }),
        async (params, setup, pauseUs, turn) => {
          const clock = new ManualClock(1_700_000_000_000 + Math.random() * 1e9);
          const memory = new MemoryStore();
          const store = new RedisStore(redis(), { prefix: uniquePrefix('turn-diff'), clock });
          const specs = memberSpecs(params);
          const nowUs = () => Math.floor(clock.now() * 1000);
          const grants: Array<{ spec: LimiterSpec; memory: Grant; redis: Grant }> = [];
          for (const s of setup) {
            const spec = specs[s.member]!;
            const cost = costUs(spec.rate, Math.min(s.cost, spec.rate.burst));
            const now = nowUs();
            const m = await memory.reserve([spec], [cost], Number.MAX_SAFE_INTEGER, now);
            const r = await store.reserve([spec], [cost], Number.MAX_SAFE_INTEGER, now);
            if (m.granted && r.granted) {
              grants.push({ spec, memory: m.grants[0]!, redis: r.grants[0]! });
            }
            clock.set(clock.now() + s.advanceUs / 1000);
          }
          clock.set(clock.now() + pauseUs / 1000);
          const now = nowUs();
          const sent: Promise<unknown>[] = [];
          const expected: unknown[] = [];
          for (const op of turn) {
            if (op.kind === 'reserve') {
              const spec = specs[op.member]!;
              const cost = costUs(spec.rate, Math.min(op.cost, spec.rate.burst));
              expected.push(await memory.reserve([spec], [cost], op.maxWaitUs, now));
              sent.push(
                store
                  .reserve([spec], [cost], op.maxWaitUs, now)
                  .then(({ serverNowUs: _, ...r }) => r),
              );
            } else if (op.kind === 'refund') {
              const g = grants[op.pick % grants.length];
              if (!g) continue;
              const us = Math.ceil((g.memory.spanUs * op.share) / 100);
              expected.push(await memory.refund(g.spec, g.memory, us, now));
              sent.push(store.refund(g.spec, g.redis, us, now));
            } else {
              expected.push(await memory.charge(specs[op.member]!, op.us, now));
              sent.push(store.charge(specs[op.member]!, op.us, now));
            }
          }
          expect(await Promise.all(sent)).toEqual(expected);
          for (const spec of specs) {
            expect(await store.look(spec, now)).toEqual(await memory.look(spec, now));
          }
          for (const spec of specs) {
            const cost = costUs(spec.rate, 1);
            const { serverNowUs: _, ...r } = await store.reserve([spec], [cost], 0, now);
            expect(r).toEqual(await memory.reserve([spec], [cost], 0, now));
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    );
  }, 20_000);
});
