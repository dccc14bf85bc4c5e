/**
 * A RedisBudgetStore's keys: `{prefix}:q:<name>` (the prefix is the Cluster hash tag), written
 * with a TTL, so an idle budget vanishes from Redis by itself once its bucket is full again, and
 * then reads as a fresh, full one. Beside each queue, a record of its limit (`{prefix}:l:<name>`)
 * under the same TTL policy, for `inspect`.
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

  it('record the limit beside the queue, with a TTL, and the configured one when it is lowered', {
    timeout: 15_000,
  }, async () => {
    const prefix = uniquePrefix('blimits');
    const store = new RedisBudgetStore(redis(), { prefix });
    const record = store.limitsKeyOf('org:rpm');
    expect(record).toBe(`{${prefix}}:l:org%3arpm`);
    expect(await store.recordedLimits('org:rpm')).toBeUndefined();
    // 10 units per 300 ms: the record lives 300 ms (the time to refill) plus the 1 s slack.
    const budget = new Budget({
      dimensions: [{ name: 'rpm', key: 'org:rpm', limit: 10, periodMs: 300 }],
      store,
    });
    await (await budget.acquire([1])).settle([1]);
    expect(await store.recordedLimits('org:rpm')).toMatchObject({
      limit: 10,
      burst: 10,
      periodMs: 300,
      configured: 10,
      unit: 1,
    });
    const ttl = await redis().pttl(record);
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(300 + 1000 + 5);
    // A lower limit (a provider's, or an adaptive cut) is written at the next reserve.
    budget.setLimit('rpm', 4);
    await (await budget.acquire([1])).settle([1]);
    expect(await store.recordedLimits('org:rpm')).toMatchObject({ limit: 4, configured: 10 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await redis().exists(record)).toBe(0);
  });

  it("record a limit too large for exact µs arithmetic in the limit's own units", async () => {
    const prefix = uniquePrefix('blimits');
    const store = new RedisBudgetStore(redis(), { prefix });
    // 150 M tokens a minute: the budget counts in tens (or coarser) internally.
    const budget = new Budget({
      dimensions: [{ name: 'tpm', key: 'org:tpm', limit: 150_000_000, periodMs: 60_000 }],
      store,
    });
    await (await budget.acquire([1000])).settle([1000]);
    const recorded = await store.recordedLimits('org:tpm');
    expect(recorded?.limit).toBe(150_000_000);
    expect(recorded?.unit).toBeGreaterThan(1);
    expect(recorded!.rate.limit * recorded!.unit).toBe(150_000_000);
    await redis().del(store.limitsKeyOf('org:tpm'), store.keyOf('org:tpm'));
  });
});
