/**
 * A maxWaitMs so large that its µs overflow a double (Infinity) is no bound at all, as the
 * default is: the JSON the reserve script receives cannot carry Infinity (it becomes null).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, MemoryStore, RedisStore } from '../../src/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe('maxWaitMs near Number.MAX_VALUE', () => {
  it('waits for the slot on Redis as in memory', async () => {
    for (const store of [
      new MemoryStore(),
      new RedisStore(redis, { prefix: uniquePrefix('mw') }),
    ]) {
      const limiter = gcra({ key: 'k', limit: 20, periodMs: 1000, burst: 1, store });
      await limiter.acquire();
      const permit = await limiter.acquire(1, { maxWaitMs: Number.MAX_VALUE });
      expect(permit.waitedMs).toBeGreaterThan(0);
      expect(permit.waitedMs).toBeLessThanOrEqual(50);
    }
  });
});
