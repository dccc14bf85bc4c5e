/**
 * Tickets left in a budget's queue by a worker that died (SIGKILL) while its calls waited are
 * dropped once the claim grace has passed, even while the budget stays busy, so they stop
 * slowing every other worker. They used to stay: a ticket was stale when max(startAt,
 * reservedAt) < now - grace, and startAt moves with `ts`, which every live claim pushed forward,
 * so a dead ticket at the head always looked about to start, while its cost sat in the prefix of
 * every live ticket (with burst 4 and a 250 ms lag, 2 dead tickets halved the rate). Now a
 * ticket passed by a later start is due since that start.
 *
 * Deterministic: the stores with an injected clock, one live caller (reserve, wait its plan,
 * claim), 30 s of simulated time.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { BudgetStore } from '../../src/limiter/budget-store.js';
import { costUs, makeRate } from '../../src/limiter/rate.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const RUN_US = 30_000_000;
const rate = makeRate(4, 1_000_000, 4);
const spec = { key: 'org:rpm', rate, lagUs: 250_000 };
const cost = costUs(rate, 1);

/** Starts of one live caller per 5 s, after a dead worker left `dead` tickets waiting. */
async function startsPer5s(store: BudgetStore, clock: { t: number }, dead: number) {
  for (let i = 0; i < rate.burst; i++) await store.reserve([spec], [cost], RUN_US, clock.t);
  for (let i = 0; i < dead; i++) await store.reserve([spec], [cost], RUN_US, clock.t);
  const per5 = new Array<number>(RUN_US / 5_000_000).fill(0);
  const started = (t: number) => {
    const i = Math.floor(t / 5_000_000);
    if (i < per5.length) per5[i]!++;
  };
  while (clock.t < RUN_US) {
    const r = await store.reserve([spec], [cost], RUN_US, clock.t);
    if (!r.granted) throw new Error('not granted');
    const plan = r.plans[0]!;
    if (!plan.queued) {
      started(clock.t);
      continue;
    }
    clock.t += Math.max(1, plan.waitUs);
    for (;;) {
      const c = await store.claim([spec], [plan.seq], clock.t);
      if (c.status === 'started') break;
      if (c.status === 'lost') throw new Error('a live ticket was lost');
      clock.t += Math.max(1, c.waitUs);
    }
    started(clock.t);
  }
  return per5;
}

describe('tickets of a dead worker do not slow the budget beyond the claim grace', () => {
  const redis: Redis[] = [];
  afterAll(() => {
    for (const r of redis) r.disconnect();
  });

  it.each([1, 2, 3])(
    'MemoryBudgetStore, %i dead tickets: 4/s again after the grace',
    async (dead) => {
      const clock = { t: 0 };
      const per5 = await startsPer5s(new MemoryBudgetStore(), clock, dead);
      console.log(`[faults] memory, ${dead} dead tickets: live starts per 5 s ${per5.join(',')}`);
      // The last 15 s (grace 10 s long past): 20 starts per 5 s, within one.
      for (const n of per5.slice(3)) expect(n).toBeGreaterThanOrEqual(19);
    },
  );

  it.each([1, 2, 3])(
    'RedisBudgetStore, %i dead tickets: 4/s again after the grace',
    async (dead) => {
      const client = new Redis(await redisUrl());
      redis.push(client);
      const clock = { t: 0 };
      const store = new RedisBudgetStore(client, {
        prefix: uniquePrefix('faults-dead-tickets'),
        clock: { now: () => clock.t / 1000 },
      });
      const per5 = await startsPer5s(store, clock, dead);
      console.log(`[faults] redis, ${dead} dead tickets: live starts per 5 s ${per5.join(',')}`);
      for (const n of per5.slice(3)) expect(n).toBeGreaterThanOrEqual(19);
    },
  );
});
