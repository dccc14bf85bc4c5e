/**
 * Review findings on how RedisStore gets back to Redis after an outage, driven by a client that
 * is "down" on demand (connection errors, no server to kill), so the outcomes are deterministic.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/index.js';
import { makeRate } from '../../src/limiter/rate.js';
import type { LimiterSpec } from '../../src/limiter/store.js';
import type { RedisScriptClient } from '../../src/redis/eval-script.js';
import { redisUrl, switchableClient, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

const MAX = Number.MAX_SAFE_INTEGER;
const rate = makeRate(60, 60_000_000, 20);

/** Runs `step` every 20 ms until `done()` or `ms` have passed. */
async function drive(step: () => Promise<unknown>, done: () => boolean, ms: number) {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) {
    await step().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('RedisStore recovery', () => {
  it('recovers even when re-entering one key fails with a reply error (not an outage)', async () => {
    const { client, setDown } = switchableClient(redis);
    const store = new RedisStore(client, {
      prefix: uniquePrefix('recover-wrongtype'),
      onUnavailable: 'local',
      localWorkers: 2,
      recheckMs: 10,
    });
    const bad: LimiterSpec = { key: 'bad', algorithm: 'gcra', rate };
    const good: LimiterSpec = { key: 'good', algorithm: 'gcra', rate };
    let recovered = 0;
    store.onRecovered(() => recovered++);
    setDown(true);
    expect((await store.reserve([bad], [1_000_000], MAX, 0)).granted).toBe(true);
    expect(store.available).toBe(false);
    // Redis is back, but a key the outage served holds another type: a fault of that key only.
    await redis.lpush(store.keyOf(bad), 'not a limiter');
    setDown(false);
    await drive(
      () => store.look(good, 0),
      () => recovered > 0,
      5000,
    );
    expect(recovered).toBe(1);
    expect(store.available).toBe(true);
    // The key at fault fails on its own, as it does outside an outage; the others work.
    await expect(store.reserve([bad], [1_000_000], MAX, 0)).rejects.toThrow(/WRONGTYPE/);
    expect((await store.reserve([good], [1_000_000], MAX, 0)).granted).toBe(true);
  });

  it("is declared only once the store's own scripts answer, not on a PING alone", async () => {
    // A Cluster whose shard for this prefix is down still answers PING on other nodes.
    let scripts = 0;
    const client: RedisScriptClient = {
      evalsha: () => {
        scripts++;
        return Promise.reject(new Error('connect ECONNREFUSED (the shard of this slot)'));
      },
      eval: () => Promise.reject(new Error('connect ECONNREFUSED (the shard of this slot)')),
      ping: () => Promise.resolve('PONG'),
    };
    const store = new RedisStore(client, { prefix: uniquePrefix('recover-ping'), recheckMs: 10 });
    const spec: LimiterSpec = { key: 'k', algorithm: 'gcra', rate };
    let recovered = 0;
    store.onRecovered(() => recovered++);
    await expect(store.reserve([spec], [1_000_000], MAX, 0)).rejects.toThrow(/unavailable/);
    await drive(
      () => store.reserve([spec], [1_000_000], MAX, 0),
      () => scripts >= 6,
      5000,
    );
    expect(scripts).toBeGreaterThanOrEqual(6);
    expect(recovered).toBe(0);
    expect(store.available).toBe(false);
  });
});
