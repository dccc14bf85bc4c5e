/**
 * In local mode a limiter whose share is full reports `resetAfterMs` 0, as it does on Redis:
 * the share's schedule (burst / localWorkers) need not be a whole number of µs.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, RedisStore } from '../../src/index.js';
import { redisUrl, switchableClient, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe('a full local share', () => {
  it('is full again in 0 ms', async () => {
    const { client, setDown } = switchableClient(redis);
    const store = new RedisStore(client, {
      prefix: uniquePrefix('localfull'),
      onUnavailable: 'local',
      localWorkers: 3,
      recheckMs: 60_000,
    });
    store.onUnavailable(() => {});
    // Burst 20 (20 s of schedule); a third of it is 6,666,666.67 µs.
    const limiter = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 20, store });
    setDown(true);
    const snapshot = await limiter.inspect();
    expect(snapshot.available).toBe(6);
    expect(snapshot.retryAfterMs).toBe(0);
    expect(snapshot.resetAfterMs).toBe(0);
  });
});
