/**
 * RedisBudgetStore against MemoryBudgetStore: driven by the same random operation sequences
 * (reserve, claim, adjust, cancel, hold, look; floods that queue 128 and more tickets on one key;
 * jumps past the claim grace that drop stale tickets) at the same injected instants, both give the
 * same answers step by step, every key looks the same after every step, and the shifts the Redis
 * store publishes reach a watcher on another connection in the order and with the numbers the
 * memory store reports. The Lua is a mirror of bucket-queue.ts; this holds it to that.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BudgetSpec, QueueChange } from '../../src/limiter/budget-store.js';
import { makeRate } from '../../src/limiter/rate.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { ManualClock } from '../../src/testing/index.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis();
const RUNS = Number(process.env.PROPERTY_RUNS ?? 60);
const KEYS = ['a', 'b', 'c'] as const;
const FLOOD = 130;

const specArb = fc.record({
  limit: fc.integer({ min: 1, max: 600 }),
  periodMs: fc.integer({ min: 100, max: 60_000 }),
  burstShare: fc.integer({ min: 1, max: 100 }),
  lagMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 })),
});

const membersArb = fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 });

const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      members: membersArb,
      shares: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 3, maxLength: 3 }),
      maxWaitUs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.constant(Number.MAX_SAFE_INTEGER),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('flood' as const),
      member: fc.integer({ min: 0, max: 2 }),
      share: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      pick: fc.nat(),
      // Told to wait, the waiter comes back at the start it was given.
      due: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      us: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 2_000_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 10_000_000, max: 15_000_000 }) },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('adjust' as const),
      members: membersArb,
      deltas: fc.array(fc.integer({ min: -3_000_000, max: 3_000_000 }), {
        minLength: 3,
        maxLength: 3,
      }),
      // The provider's remaining figures riding on the settle (-1: none said), in µs.
      left: fc.option(
        fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 12_000_000 })), {
          minLength: 3,
          maxLength: 3,
        }),
        { nil: undefined },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      member: fc.integer({ min: 0, max: 2 }),
      delayUs: fc.integer({ min: -1000, max: 3_000_000 }),
      share: fc.integer({ min: 0, max: 150 }),
    }),
  },
);

interface Reservation {
  readonly specs: BudgetSpec[];
  readonly seqs: number[];
  readonly costs: number[];
  queued: boolean;
}

describe('RedisBudgetStore and MemoryBudgetStore', () => {
  it('agree step by step on random operation sequences, 128+ tickets queued on one key', async () => {
    let steps = 0;
    let deepest = 0;
    let shiftsSeen = 0;
    const claims = { started: 0, wait: 0, lost: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb, { minLength: 3, maxLength: 3 }),
        fc.array(opArb, { minLength: 15, maxLength: 60 }),
        async (params, ops) => {
          const clock = new ManualClock(1_700_000_000_000 + Math.floor(Math.random() * 1e9));
          const nowUs = () => Math.floor(clock.now() * 1000);
          const memory = new MemoryBudgetStore();
          const store = new RedisBudgetStore(redis(), { prefix: uniquePrefix('bdiff'), clock });
          const specs: BudgetSpec[] = params.map((p, i) => ({
            key: KEYS[i]!,
            rate: makeRate(
              p.limit,
              p.periodMs * 1000,
              Math.max(1, Math.floor((p.limit * p.burstShare) / 100)),
            ),
            lagUs: p.lagMs * 1000,
          }));
          const memoryShifts: QueueChange[] = [];
          const redisShifts: QueueChange[] = [];
          let resynced = false;
          const unwatchMemory = memory.watch(KEYS, (c) => memoryShifts.push(c));
          const unwatchRedis = store.watch(KEYS, (c) => {
            if (c.resync) resynced = true;
            else redisShifts.push(c);
          });
          try {
            await until(() => resynced, 'the first resync');
            const live: Reservation[] = [];
            const costOf = (spec: BudgetSpec, share: number) =>
              Math.floor((spec.rate.capacityUs * share) / 100);
            const reserve = async (members: BudgetSpec[], costs: number[], maxWaitUs: number) => {
              const now = nowUs();
              const a = await memory.reserve(members, costs, maxWaitUs, now);
              const b = await store.reserve(members, costs, maxWaitUs, now);
              expect(b).toEqual(a);
              if (a.granted) {
                live.push({
                  specs: members,
                  seqs: a.plans.map((p) => p.seq),
                  costs,
                  queued: a.plans.some((p) => p.queued),
                });
              }
            };
            for (const op of ops) {
              steps++;
              switch (op.kind) {
                case 'advance':
                  clock.set(clock.now() + op.us / 1000);
                  break;
                case 'reserve': {
                  const members = op.members.map((m) => specs[m]!);
                  const costs = members.map((s, i) => costOf(s, op.shares[i]!));
                  await reserve(members, costs, op.maxWaitUs);
                  break;
                }
                case 'flood': {
                  const spec = specs[op.member]!;
                  for (let i = 0; i < FLOOD; i++) {
                    await reserve(
                      [spec],
                      [Math.max(1, costOf(spec, op.share))],
                      Number.MAX_SAFE_INTEGER,
                    );
                  }
                  break;
                }
                case 'claim': {
                  const queued = live.filter((r) => r.queued);
                  const r = queued[op.pick % Math.max(1, queued.length)];
                  if (!r) break;
                  let now = nowUs();
                  let a = await memory.claim(r.specs, r.seqs, now);
                  expect(await store.claim(r.specs, r.seqs, now)).toEqual(a);
                  claims[a.status]++;
                  if (a.status === 'wait' && op.due) {
                    clock.set(clock.now() + a.waitUs / 1000);
                    now = nowUs();
                    a = await memory.claim(r.specs, r.seqs, now);
                    expect(await store.claim(r.specs, r.seqs, now)).toEqual(a);
                    claims[a.status]++;
                  }
                  if (a.status !== 'wait') r.queued = false;
                  if (a.status === 'lost') live.splice(live.indexOf(r), 1);
                  break;
                }
                case 'adjust': {
                  const members = op.members.map((m) => specs[m]!);
                  const deltas = members.map((_, i) => op.deltas[i]!);
                  const left = op.left && members.map((_, i) => op.left![i]!);
                  const gaps = await memory.adjust(members, deltas, nowUs(), left);
                  expect(await store.adjust(members, deltas, nowUs(), left)).toEqual(gaps);
                  break;
                }
                case 'cancel': {
                  const r = live[op.pick % Math.max(1, live.length)];
                  if (!r) break;
                  live.splice(live.indexOf(r), 1);
                  await memory.cancel(r.specs, r.seqs, r.costs, nowUs());
                  await store.cancel(r.specs, r.seqs, r.costs, nowUs());
                  break;
                }
                case 'hold': {
                  const spec = specs[op.member]!;
                  const cost = costOf(spec, op.share);
                  await memory.hold(spec, op.delayUs, cost, nowUs());
                  await store.hold(spec, op.delayUs, cost, nowUs());
                  break;
                }
              }
              for (const spec of specs) {
                const a = await memory.look(spec, nowUs());
                expect(await store.look(spec, nowUs())).toEqual(a);
                deepest = Math.max(deepest, a.queued);
              }
            }
            await until(() => redisShifts.length >= memoryShifts.length, 'every shift published');
            expect(redisShifts).toEqual(memoryShifts);
            shiftsSeen += memoryShifts.length;
          } finally {
            unwatchMemory();
            unwatchRedis();
          }
        },
      ),
      { numRuns: RUNS },
    );
    console.log(
      `budget differential: ${steps} steps, deepest queue ${deepest} tickets, ${shiftsSeen} shifts compared, claims ${JSON.stringify(claims)}`,
    );
    expect(claims.started).toBeGreaterThan(0);
    expect(claims.wait).toBeGreaterThan(0);
    expect(claims.lost).toBeGreaterThan(0);
    expect(deepest).toBeGreaterThanOrEqual(128);
    expect(shiftsSeen).toBeGreaterThan(0);
  }, 600_000);
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
