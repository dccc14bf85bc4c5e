/**
 * While Redis is down, the store's timer checks for it every recheckMs, so an idle store is back
 * on Redis at most recheckMs (plus a check's round trip) after Redis is. A check that took a
 * while (a command that hangs until timeoutMs, as in ioredis's offline queue) must not make the
 * next tick skip its check.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, LimiterUnavailableError, RedisStore } from '../../src/index.js';
import type { RedisScriptClient } from '../../src/redis/eval-script.js';
import { sleep } from '../support/real-time.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe('the recheck timer', () => {
  it('checks on every tick, even after a check that waited for its timeout', async () => {
    let down = false;
    let calls = 0;
    // Down: commands hang, as ioredis holds them while it reconnects.
    const client: RedisScriptClient = {
      evalsha: (...args) => {
        calls++;
        return down ? new Promise(() => {}) : redis.evalsha(...args);
      },
      eval: (...args) => (down ? new Promise(() => {}) : redis.eval(...args)),
      ping: () => redis.ping(),
    };
    const RECHECK_MS = 400;
    const TIMEOUT_MS = 100;
    const store = new RedisStore(client, {
      prefix: uniquePrefix('recheck'),
      timeoutMs: TIMEOUT_MS,
      recheckMs: RECHECK_MS,
    });
    let recoveredAt: number | undefined;
    store.onRecovered(() => {
      recoveredAt = performance.now();
    });
    const limiter = gcra({ key: 'rpm', limit: 50, periodMs: 1000, burst: 5, store });
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    down = true;
    await expect(limiter.tryAcquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
    // The timer's first check is sent, and fails by its timeout.
    const failedCalls = calls;
    while (calls === failedCalls) await sleep(5);
    await sleep(TIMEOUT_MS + 20);
    expect(store.available).toBe(false);
    down = false;
    const backAt = performance.now();
    while (recoveredAt === undefined && performance.now() - backAt < 3000) await sleep(5);
    expect(recoveredAt).toBeDefined();
    // The next tick comes RECHECK_MS - TIMEOUT_MS after the failed check: well inside the bound.
    expect(recoveredAt! - backAt).toBeLessThan(RECHECK_MS + 100);
  });
});
