/**
 * A RedisBudgetStore's keys: `{prefix}:q:<name>` (the prefix is the Cluster hash tag), written
 * with a TTL, so an idle budget vanishes from Redis by itself once its bucket is full again, and
 * then reads as a fresh, full one.
 */
import { describe, expect, it } from 'vitest';
import { Budget } from '../../src/limiter/budget.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis();

describe('RedisBudgetStore keys', () => {
  it('carry the hash tag and a TTL, and vanish once idle and full again', {
    timeout: 15_000,
  }, async () => {
    const prefix = uniquePrefix('bkeys');
    const store = new RedisBudgetStore(redis(), { prefix });
    const key = store.keyOf('org:otpm');
    expect(key).toBe(`{${prefix}}:q:org%3aotpm`);
    // 10 units per 300 ms: a full charge is owed for 300 ms.
    const budget = new Budget({
      dimensions: [{ name: 'otpm', key: 'org:otpm', limit: 10, periodMs: 300 }],
      store,
    });
    const permit = await budget.acquire([10]);
    const ttl = await redis().pttl(key);
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(300 + 1000 + 5);
    await permit.settle([10]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await redis().exists(key)).toBe(0);
    // The budget is whole again, as a fresh key.
    expect((await budget.inspect())[0]!.available).toBe(10);
  });
});
