/**
 * A settle that lands between the store's answer to a reservation and the caller's wait (a
 * credit right after a queued reserve) still moves that caller forward: the budget listens
 * before it reserves. In one process on a manual clock, and on Redis in real time.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Budget, MemoryBudgetStore } from '../../src/index.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { ManualClock } from '../../src/testing/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const dimensions = [{ name: 'otpm', key: 'otpm', limit: 1_000, periodMs: 60_000 }];
const clients: Redis[] = [];
afterAll(() => {
  for (const c of clients) c.disconnect();
});

describe('a settle right after a queued reservation', () => {
  it('reaches the waiter in one process', async () => {
    const clock = new ManualClock();
    const budget = new Budget({ dimensions, store: new MemoryBudgetStore(), clock });
    const first = await budget.acquire([900]);
    let startedAt: number | undefined;
    const second = budget.acquire([900]).then((p) => {
      startedAt = clock.now();
      return p;
    });
    // No await in between: the credit lands before the second caller has begun to wait.
    const settled = first.settle([50]);
    await settled;
    await clock.advance(10);
    await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    // Started within the 10 ms; at the max_tokens pace it would start 48 s later.
    expect(startedAt).toBeDefined();
    expect(startedAt! - 1_700_000_000_000).toBeLessThanOrEqual(10);
    await clock.advance(60_000);
    await second;
  });

  it('reaches the waiter on Redis', async () => {
    const redis = new Redis(await redisUrl());
    redis.on('error', () => {});
    clients.push(redis);
    const budget = new Budget({
      dimensions,
      store: new RedisBudgetStore(redis, { prefix: uniquePrefix('settle-before-wait') }),
    });
    const first = await budget.acquire([900]);
    const asked = Date.now();
    const second = budget.acquire([900]);
    await first.settle([50]);
    await second;
    // Generous for a loaded machine; the max_tokens pace would be 48 s.
    expect(Date.now() - asked).toBeLessThan(10_000);
  });
});
