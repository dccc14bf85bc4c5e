/**
 * A string led by the format number 2 but too short for a state (no fields, or fewer than the
 * algorithm needs) is not a format-2 state: it is refused with the error naming the key, not read
 * as missing numbers.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, RedisStore, tokenBucket } from '../../src/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe('a truncated state of format 2', () => {
  it('is refused by name, for a reservation and for a look', async () => {
    const store = new RedisStore(redis, { prefix: uniquePrefix('shortstate') });
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, store });
    const tpm = tokenBucket({ key: 'tpm', capacity: 60, refillPerSecond: 1, store });
    const doubles = (...v: number[]) => Buffer.from(new Float64Array(v).buffer);
    for (const value of [doubles(2), doubles(2, 5, 5)]) {
      for (const limiter of [rpm, tpm]) {
        const key = store.keyOf(limiter.spec);
        await redis.set(key, value);
        for (const error of [
          await limiter.tryAcquire().catch((e: unknown) => e),
          await limiter.inspect().catch((e: unknown) => e),
        ]) {
          expect(String(error)).toContain(`key ${key} does not hold a limiter state of format 2`);
        }
        expect(await redis.getBuffer(key)).toEqual(value);
      }
    }
  });
});
