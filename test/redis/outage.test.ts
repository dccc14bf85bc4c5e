/**
 * Redis killed under load, in each outage mode, on a private redis-server; then restarted empty
 * (scripts gone), which the store must get over by itself.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  gcra,
  LimiterUnavailableError,
  type Permit,
  RedisStore,
  type RedisUnavailableEvent,
} from '../../src/index.js';
import { reserveScript } from '../../src/stores/redis/lua/scripts.js';
import { type RedisServer, startRedisServer, uniquePrefix } from '../support/redis.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ server: RedisServer; redis: Redis }> {
  const server = await startRedisServer();
  // Default ioredis options on purpose: the offline queue would hold commands forever.
  const redis = new Redis(server.url);
  redis.on('error', () => {});
  cleanups.push(async () => {
    redis.disconnect();
    await server.stop();
  });
  return { server, redis };
}

/** Calls `attempt` every 50 ms until it returns true; fails after `ms`. */
async function eventually(attempt: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await attempt())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const TIMEOUT_MS = 300;

describe('Redis outage', () => {
  it('fail-closed: LimiterUnavailableError within the timeout, even mid-load; resumes after a restart', {
    timeout: 30_000,
  }, async () => {
    const { server, redis } = await setup();
    const store = new RedisStore(redis, {
      prefix: uniquePrefix('closed'),
      timeoutMs: TIMEOUT_MS,
      recheckMs: 100,
    });
    const limiter = gcra({ key: 'rpm', limit: 50, periodMs: 1000, burst: 5, store });
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    // Load in flight when the server dies: every call settles, as a permit or as the typed error.
    const inFlight = Array.from({ length: 20 }, () =>
      limiter.acquire().then(
        (p: Permit) => p,
        (e: unknown) => e,
      ),
    );
    await server.kill();
    const settledBy = performance.now() + TIMEOUT_MS + 2000;
    const outcomes = await Promise.all(inFlight);
    expect(performance.now()).toBeLessThan(settledBy);
    for (const outcome of outcomes) {
      expect(
        outcome instanceof LimiterUnavailableError || outcome?.constructor?.name === 'Permit',
      ).toBe(true);
    }
    const started = performance.now();
    await expect(limiter.acquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    expect(store.available).toBe(false);

    await server.restart();
    const sha = createHash('sha1').update(reserveScript.source).digest('hex');
    await eventually(async () => {
      try {
        await limiter.tryAcquire();
        return true;
      } catch (error) {
        expect(error).toBeInstanceOf(LimiterUnavailableError);
        return false;
      }
    });
    // The restarted server had no scripts: the store reloaded them after NOSCRIPT.
    expect(await redis.script('EXISTS', sha)).toEqual([1]);
    expect(store.available).toBe(true);
  });

  it('fail-open: admits and emits an event per operation; the listener can be disposed', {
    timeout: 30_000,
  }, async () => {
    const { server, redis } = await setup();
    const store = new RedisStore(redis, {
      prefix: uniquePrefix('open'),
      onUnavailable: 'fail-open',
      timeoutMs: TIMEOUT_MS,
      recheckMs: 100,
    });
    const limiter = gcra({ key: 'rpm', limit: 1, periodMs: 60_000, burst: 1, store });
    const events: RedisUnavailableEvent[] = [];
    const listener = store.onUnavailable((event) => events.push(event));
    let recovered = 0;
    store.onRecovered(() => recovered++);
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    expect((await limiter.tryAcquire()).allowed).toBe(false);
    await server.kill();
    const started = performance.now();
    for (let i = 0; i < 5; i++) expect((await limiter.tryAcquire()).allowed).toBe(true);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    const permit = await limiter.acquire();
    await permit.settle(1);
    expect(events.length).toBe(6);
    expect(events[0]).toMatchObject({ operation: 'reserve', mode: 'fail-open', keys: ['rpm'] });
    listener.dispose();
    await limiter.tryAcquire();
    expect(events.length).toBe(6);

    await server.restart();
    // Reads (look) also drive the recovery check, without taking anything.
    await eventually(async () => {
      await limiter.inspect();
      return recovered === 1;
    });
    // Back on Redis: the one-per-minute limit holds again. (A fresh key: with ioredis's offline
    // queue, the reserve that timed out when the outage began runs once the server is back,
    // which can only over-charge `rpm`.)
    const other = gcra({ key: 'other', limit: 1, periodMs: 60_000, burst: 1, store });
    expect((await other.tryAcquire()).allowed).toBe(true);
    expect((await other.tryAcquire()).allowed).toBe(false);
    expect(events.length).toBe(6);
  });

  it('local: limits at rate / localWorkers during the outage, then returns without a burst', {
    timeout: 30_000,
  }, async () => {
    const { server, redis } = await setup();
    const store = new RedisStore(redis, {
      prefix: uniquePrefix('local'),
      onUnavailable: 'local',
      localWorkers: 4,
      timeoutMs: TIMEOUT_MS,
      recheckMs: 100,
    });
    // 60/min, burst 20: locally 15/min, burst 5.
    const limiter = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 20, store });
    const events: RedisUnavailableEvent[] = [];
    store.onUnavailable((event) => events.push(event));
    let recovered = 0;
    store.onRecovered(() => recovered++);
    expect((await limiter.tryAcquire(2)).allowed).toBe(true);
    await server.kill();

    const held = gcra({ key: 'held', limit: 60, periodMs: 60_000, burst: 20, store });
    await held.holdFor(20_000);
    let admitted = 0;
    for (let i = 0; i < 12; i++) if ((await limiter.tryAcquire()).allowed) admitted++;
    expect(admitted).toBe(5);
    const refused = await limiter.tryAcquire();
    // One unit every 4 s locally.
    expect(refused.retryAfterMs).toBeGreaterThan(3000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(4000);
    expect(events.every((e) => e.mode === 'local')).toBe(true);
    expect(events.length).toBeGreaterThanOrEqual(14);

    await server.restart();
    // Reads (look) also drive the recovery check, without taking anything.
    await eventually(async () => {
      await limiter.inspect();
      return recovered === 1;
    });
    expect(store.available).toBe(true);
    // The restarted Redis lost the key; it was re-entered empty, so it refills at 1/s instead
    // of handing out a full burst of 20.
    const after = await limiter.tryAcquire();
    expect(after.allowed).toBe(false);
    expect(after.retryAfterMs).toBeGreaterThan(0);
    expect(after.retryAfterMs).toBeLessThanOrEqual(1000);
    // A hold placed during the outage (a 429's retry-after) carries over to Redis.
    const stillHeld = await held.tryAcquire();
    expect(stillHeld.allowed).toBe(false);
    expect(stillHeld.retryAfterMs).toBeGreaterThan(15_000);
    expect(stillHeld.retryAfterMs).toBeLessThanOrEqual(21_000);
  });

  it('notices that Redis is back while idle: the first call after a quiet spell goes to Redis', {
    timeout: 30_000,
  }, async () => {
    const { server, redis } = await setup();
    const store = new RedisStore(redis, {
      prefix: uniquePrefix('idle'),
      timeoutMs: TIMEOUT_MS,
      recheckMs: 100,
    });
    let recovered = 0;
    store.onRecovered(() => recovered++);
    const limiter = gcra({ key: 'rpm', limit: 50, periodMs: 1000, burst: 5, store });
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    await server.kill();
    await expect(limiter.tryAcquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
    expect(store.available).toBe(false);
    await server.restart();
    // No call for a while: the store looks for Redis on its own, every recheckMs.
    await eventually(async () => recovered === 1);
    expect(store.available).toBe(true);
    expect((await limiter.tryAcquire()).allowed).toBe(true);
  });

  it('local: a cost above burst / localWorkers is refused with LimiterUnavailableError, not admitted after a wait', {
    timeout: 30_000,
  }, async () => {
    const { server, redis } = await setup();
    const store = new RedisStore(redis, {
      prefix: uniquePrefix('localbig'),
      timeoutMs: TIMEOUT_MS,
      recheckMs: 100,
      onUnavailable: 'local',
      localWorkers: 4,
    });
    const limiter = gcra({ key: 'tpm', limit: 8, periodMs: 1000, burst: 8, store });
    expect((await limiter.tryAcquire(3)).allowed).toBe(true);
    await server.kill();
    // This worker's share is 8 / 4 = 2 units: a cost of 3 never fits it, and four workers each
    // admitting one after a wait would let 12 through where the burst is 8.
    for (const call of [() => limiter.acquire(3), () => limiter.tryAcquire(3)]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LimiterUnavailableError);
      expect(String(error)).toMatch(/burst \/ localWorkers/);
    }
    expect((await limiter.tryAcquire(2)).allowed).toBe(true);
  });
});
