import { describe, expect, it } from 'vitest';
import { RedisSemaphore } from '../../src/concurrency/redis-semaphore.js';
import { sleep } from '../support/real-time.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis();

describe('RedisSemaphore key expiry', () => {
  it("a short-lease worker never expires the key under another worker's live long lease", async () => {
    const key = uniquePrefix('sem-ttl');
    // Two deployments sharing one cap with different lease lengths (a rolling config change).
    const long = new RedisSemaphore({ redis: redis(), key, limit: 1, leaseMs: 60_000 });
    const short = new RedisSemaphore({ redis: redis(), key, limit: 2, leaseMs: 100 });
    try {
      const held = await long.tryAcquire();
      expect(held).toBeTypeOf('string');
      const brief = await short.tryAcquire();
      expect(brief).toBeTypeOf('string');
      await short.release(brief as string);
      await sleep(400); // well past 2 x 100 ms, far below the 60 s lease
      // The long lease is alive: the cap of 1 is still taken, and it can still be renewed.
      expect(await long.count()).toBe(1);
      expect(await long.tryAcquire()).toBeUndefined();
      expect(await long.renew(held as string)).toBe(true);
    } finally {
      await redis().del(key);
    }
  });
});
