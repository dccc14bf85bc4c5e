/**
 * 'local' mode: callers waiting for slots granted locally during an outage keep them when Redis
 * comes back. The keys re-enter Redis pushed by as far as the local schedule ran ahead (those
 * very slots); that push is not a provider's hold, so the waiters must not queue again behind it.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, RedisStore } from '../../src/index.js';
import { sleep } from '../support/real-time.js';
import { redisUrl, switchableClient, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe('re-entry after an outage and callers waiting on local slots', () => {
  it('they start at their local slots, not behind the re-entry', async () => {
    const { client, setDown } = switchableClient(redis);
    const store = new RedisStore(client, {
      prefix: uniquePrefix('reentry'),
      onUnavailable: 'local',
      localWorkers: 1,
      recheckMs: 20,
      timeoutMs: 200,
    });
    let recovered = false;
    store.onRecovered(() => {
      recovered = true;
    });
    // 5 per second: a slot every 200 ms.
    const limiter = gcra({ key: 'rpm', limit: 5, periodMs: 1000, burst: 1, store });
    setDown(true);
    const first = await limiter.acquire(); // served locally, at once
    expect(first.waitedMs).toBe(0);
    const waiting = [limiter.acquire(), limiter.acquire(), limiter.acquire()]; // 200, 400, 600 ms
    await sleep(10);
    setDown(false);
    while (!recovered) await sleep(5);
    const permits = await Promise.all(waiting);
    // Each at its local slot (reserved a few ms after the first call), none queued again.
    permits.forEach((permit, i) => {
      expect(permit.waitedMs).toBeGreaterThan(200 * (i + 1) - 50);
      expect(permit.waitedMs).toBeLessThanOrEqual(200 * (i + 1));
    });
  });
});
