import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { bulkheadPolicy } from '../../src/concurrency/bulkhead-policy.js';
import { RedisSemaphore } from '../../src/concurrency/redis-semaphore.js';
import { isLimiterUnavailableError } from '../../src/errors/index.js';
import { sleep } from '../support/real-time.js';
import { connectForOutage, redisUrl, startRedisServer, uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';
import { forkWorker, type TestWorker } from '../support/workers.js';

const WORKER = new URL('../fixtures/semaphore-worker.ts', import.meta.url);

const redis = sharedRedis();
const measured: Record<string, number> = {};
afterAll(() => {
  console.info('semaphore figures (ms):', JSON.stringify(measured));
});

describe('RedisSemaphore', () => {
  it('hands out at most `limit` leases; released and expired leases come back', async () => {
    const key = uniquePrefix('sem');
    const sem = new RedisSemaphore({ redis: redis(), key, limit: 2, leaseMs: 300 });
    const a = await sem.tryAcquire();
    const b = await sem.tryAcquire();
    expect(a).toBeTypeOf('string');
    expect(b).toBeTypeOf('string');
    expect(await sem.tryAcquire()).toBeUndefined();
    expect(await sem.count()).toBe(2);
    await sem.release(a as string);
    const c = await sem.tryAcquire();
    expect(c).toBeTypeOf('string');
    // b is renewed, c is not: after the lease time only b is alive
    await sleep(200);
    expect(await sem.renew(b as string)).toBe(true);
    await sleep(200);
    expect(await sem.count()).toBe(1);
    expect(await sem.renew(c as string)).toBe(false); // an expired lease is never revived
    await redis().del(key);
  });

  it('refuses bad options', () => {
    expect(() => new RedisSemaphore({ redis: redis(), key: 'k', limit: 2, leaseMs: 0 })).toThrow(
      '`leaseMs`',
    );
    expect(() => new RedisSemaphore({ redis: redis(), key: 'k', limit: 0, leaseMs: 10 })).toThrow(
      '`limit`',
    );
  });
});

describe('bulkheadPolicy with redis (in process)', () => {
  it('two policies on one key share the limit; a queued call gets a permit freed by the other', async () => {
    const key = uniquePrefix('bulkhead');
    const other = new Redis(await redisUrl());
    const p1 = bulkheadPolicy({
      redis: redis(),
      key,
      maxConcurrent: 1,
      maxQueue: 5,
      pollIntervalMs: 10,
    });
    const p2 = bulkheadPolicy({
      redis: other,
      key,
      maxConcurrent: 1,
      maxQueue: 5,
      pollIntervalMs: 10,
    });
    let release!: () => void;
    const first = p1.execute(() => new Promise<void>((r) => (release = r)));
    await sleep(50);
    let secondRan = false;
    const second = p2.execute(() => {
      secondRan = true;
    });
    await sleep(100);
    expect(secondRan).toBe(false);
    expect(p2.inspect()).toEqual({ executing: 0, queued: 1 });
    expect(await p1.clusterExecuting()).toBe(1);
    release();
    await first;
    await second;
    expect(secondRan).toBe(true);
    other.disconnect();
    await redis().del(key);
  });

  it('renews the lease while a call runs longer than leaseMs', async () => {
    const key = uniquePrefix('bulkhead');
    // renewals every 200 ms leave 400 ms of slack for a busy CI machine
    const policy = bulkheadPolicy({
      redis: redis(),
      key,
      maxConcurrent: 1,
      leaseMs: 600,
      pollIntervalMs: 10,
    });
    const lost: unknown[] = [];
    policy.onLeaseLost((e) => lost.push(e));
    const long = policy.execute(() => sleep(1500));
    await sleep(1100); // well past one lease: alive only because it was renewed
    expect(await policy.clusterExecuting()).toBe(1);
    await long;
    expect(lost).toEqual([]);
    expect(await policy.clusterExecuting()).toBe(0);
    await redis().del(key);
  });

  it('a queued call aborted while waiting for Redis frees its place at once', async () => {
    const key = uniquePrefix('bulkhead');
    const policy = bulkheadPolicy({
      redis: redis(),
      key,
      maxConcurrent: 1,
      maxQueue: 1,
      pollIntervalMs: 10,
    });
    let release!: () => void;
    const running = policy.execute(() => new Promise<void>((r) => (release = r)));
    await sleep(30);
    const ac = new AbortController();
    const queued = policy.execute(() => 'never', ac.signal);
    await sleep(30);
    ac.abort(new Error('bye'));
    await expect(queued).rejects.toThrow('bye');
    expect(policy.inspect().queued).toBe(0);
    release();
    await running;
    await redis().del(key);
  });

  it('fails closed with LimiterUnavailableError when Redis is down', async () => {
    const server = await startRedisServer();
    const client = await connectForOutage(server);
    const policy = bulkheadPolicy({ redis: client, key: 'k', maxConcurrent: 1 });
    await expect(policy.execute(() => 'up')).resolves.toBe('up');
    await server.stop();
    await sleep(50);
    await expect(policy.execute(() => 'down')).rejects.toSatisfy(isLimiterUnavailableError);
    expect(policy.inspect()).toEqual({ executing: 0, queued: 0 });
    client.disconnect();
  });
});

describe('cluster-wide bulkhead across real worker processes', () => {
  let workers: TestWorker[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });

  it('three processes never exceed maxConcurrent together', async () => {
    const key = uniquePrefix('bulkhead');
    const gauge = `${key}:gauge`;
    const env = {
      REDIS_URL: await redisUrl(),
      SEM_KEY: key,
      MAX_CONCURRENT: '3',
      LEASE_MS: '2000',
    };
    workers = await Promise.all([0, 1, 2].map(() => forkWorker(WORKER, env)));
    const replies = await Promise.all(
      workers.map((w) => w.request<{ ok: number }>({ cmd: 'run', count: 5, holdMs: 60, gauge })),
    );
    expect(replies.map((r) => r.ok)).toEqual([5, 5, 5]);
    const peak = Number(await redis().get(`${gauge}:peak`));
    measured.peakConcurrency = peak;
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThanOrEqual(2); // the limit was actually reached under contention
    expect(Number(await redis().get(gauge))).toBe(0);
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    await redis().del(key, gauge, `${gauge}:peak`);
  });

  it("a SIGKILLed holder's permit comes back when its lease expires, not before", async () => {
    const key = uniquePrefix('bulkhead');
    const LEASE_MS = 1000;
    const env = {
      REDIS_URL: await redisUrl(),
      SEM_KEY: key,
      MAX_CONCURRENT: '1',
      LEASE_MS: String(LEASE_MS),
    };
    const [holder, waiter] = await Promise.all([forkWorker(WORKER, env), forkWorker(WORKER, env)]);
    workers = [holder, waiter];
    await holder.request({ cmd: 'hold' });
    await holder.waitForEvent((m) => m.type === 'holding');
    // let the holder renew at least once, so the lease outlives the original leaseMs
    await sleep(LEASE_MS * 0.6);
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    const { startedAt } = await waiter.request<{ startedAt: number }>({ cmd: 'one' }, 10_000);
    const waited = startedAt - killedAt;
    measured.permitBackAfterKillMs = waited;
    expect(waited).toBeGreaterThanOrEqual(LEASE_MS * 0.2); // held until the lease ran out
    expect(waited).toBeLessThan(LEASE_MS + 3000); // and not forever
    expect(await redis().zcard(key)).toBeLessThanOrEqual(1);
    await redis().del(key);
  });
});
