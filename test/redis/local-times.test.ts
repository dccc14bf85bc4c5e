/**
 * While a RedisStore serves a budget locally (`onUnavailable: 'local'`), the times it reports are
 * this worker's: it holds 1/localWorkers of the burst and refills at 1/localWorkers of the rate,
 * so a unit comes back localWorkers times slower than on the shared budget.
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

describe('inspect and tryAcquire in local mode', () => {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(`report the local wait and refill times (${algorithm})`, async () => {
      const { client, setDown } = switchableClient(redis);
      const store = new RedisStore(client, {
        prefix: uniquePrefix('localtimes'),
        onUnavailable: 'local',
        localWorkers: 4,
        recheckMs: 60_000,
      });
      store.onUnavailable(() => {});
      // 60/min, burst 20; locally 15/min (a unit every 4 s), burst 5.
      const limiter =
        algorithm === 'gcra'
          ? gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 20, store })
          : tokenBucket({ key: 'rpm', capacity: 20, refillPerSecond: 1, store });
      setDown(true);
      expect((await limiter.tryAcquire(2)).allowed).toBe(true);
      let snapshot = await limiter.inspect();
      expect(snapshot.available).toBe(3);
      expect(snapshot.retryAfterMs).toBe(0);
      // Two units taken: full again in 2 x 4 s.
      expect(snapshot.resetAfterMs).toBeGreaterThan(7900);
      expect(snapshot.resetAfterMs).toBeLessThanOrEqual(8000);
      expect((await limiter.tryAcquire(3)).allowed).toBe(true);
      const refused = await limiter.tryAcquire();
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(3900);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(4000);
      expect(refused.resetAfterMs).toBeGreaterThan(19_900);
      expect(refused.resetAfterMs).toBeLessThanOrEqual(20_000);
      snapshot = await limiter.inspect();
      expect(snapshot.available).toBe(0);
      expect(snapshot.retryAfterMs).toBeGreaterThan(3900);
      expect(snapshot.retryAfterMs).toBeLessThanOrEqual(4000);
    });
  }
});
