/**
 * In local mode each worker holds burst / localWorkers and only a cost above that share is
 * refused (docs/redis.md). A unit whose schedule is not a whole number of µs is rounded up, and
 * `localWorkers` rounded-up units can come to more than the burst's rounded-up schedule: a cost of
 * exactly burst / localWorkers must still fit the share, at once.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, RedisStore, tokenBucket } from '../../src/index.js';
import { redisUrl, switchableClient, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe("local mode and a cost of exactly this worker's share", () => {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(`is admitted at once, and no more than the share (${algorithm})`, async () => {
      const { client, setDown } = switchableClient(redis);
      const store = new RedisStore(client, {
        prefix: uniquePrefix('localround'),
        onUnavailable: 'local',
        localWorkers: 2,
        recheckMs: 60_000,
      });
      store.onUnavailable(() => {});
      // 3 a second (a unit is 333,333.3 µs), burst 2: each of the 2 workers holds 1 unit.
      const limiter =
        algorithm === 'gcra'
          ? gcra({ key: 'rps', limit: 3, periodMs: 1000, burst: 2, store })
          : tokenBucket({ key: 'rps', capacity: 2, refillPerSecond: 3, store });
      setDown(true);
      const first = await limiter.tryAcquire(1);
      expect(first.allowed).toBe(true);
      expect((await limiter.tryAcquire(1)).allowed).toBe(false);
    });
  }
});
