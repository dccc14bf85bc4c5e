/**
 * A hold placed by one worker reaches callers of another worker that were already waiting for a
 * slot inside it: they read the hold from Redis when they wake and queue again behind it. Real
 * time, with margins far above the machine's scheduling noise: the slot inside the hold is 100 ms
 * away, the hold lasts 600 ms.
 */
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { gcra, limiterGroup, RedisStore, tokenBucket } from '../../src/index.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

// One connection per worker.
const a = sharedRedis();
const b = sharedRedis();

/** Resolves once the limiter's schedule runs more than `ms` ahead: a reservation has landed. */
async function reserved(limiter: { inspect(): Promise<{ retryAfterMs: number }> }, ms: number) {
  while ((await limiter.inspect()).retryAfterMs <= ms) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('a hold on Redis and callers already waiting in another worker', () => {
  it('a waiter of worker B does not start inside a hold placed by worker A', async () => {
    const prefix = uniquePrefix('holdwait');
    const options = { key: 'rpm', limit: 2, periodMs: 1000, burst: 1 };
    const workerA = gcra({ ...options, store: new RedisStore(a(), { prefix }) });
    const workerB = gcra({ ...options, store: new RedisStore(b(), { prefix }) });
    await workerB.acquire();
    const waiting = workerB.acquire(); // a slot 500 ms from now
    await reserved(workerA, 750); // the schedule runs to 1 s: B's slot is booked
    const holdSentAt = Date.now();
    await workerA.holdFor(1500); // A's call got a 429 with retry-after 1.5 s
    const { heldForMs } = await workerB.inspect();
    expect(heldForMs).toBeGreaterThan(0);
    expect(heldForMs).toBeLessThanOrEqual(1500);
    const permit = await waiting;
    const startedAt = Date.now();
    // Not before the hold's end (on the Redis clock, read after holdSentAt; 20 ms for the
    // difference between that clock and Date.now on one machine), nor long after it: the first
    // slot behind the hold is its end plus one emission interval.
    expect(startedAt).toBeGreaterThanOrEqual(holdSentAt + 1500 - 20);
    expect(startedAt).toBeLessThan(holdSentAt + 1500 + 500 + 3000);
    expect(permit.waitedMs).toBeGreaterThanOrEqual(1500);
  });

  it('a group waiter queues again when its token member is held by another worker', async () => {
    const prefix = uniquePrefix('holdgroup');
    const build = (redis: Redis) => {
      const store = new RedisStore(redis, { prefix });
      const rpm = gcra({ key: 'rpm', limit: 2, periodMs: 1000, burst: 1, store });
      const otpm = tokenBucket({ key: 'otpm', capacity: 8000, refillPerSecond: 8000, store });
      return { rpm, otpm, group: limiterGroup([rpm, otpm]) };
    };
    const workerA = build(a());
    const workerB = build(b());
    await workerB.group.acquire([1, 100]);
    const waiting = workerB.group.acquire([1, 100]); // RPM slot 500 ms from now
    await reserved(workerA.rpm, 750);
    const holdSentAt = Date.now();
    await workerA.otpm.holdFor(1500);
    await waiting;
    expect(Date.now()).toBeGreaterThanOrEqual(holdSentAt + 1500 - 20);
  });
});
