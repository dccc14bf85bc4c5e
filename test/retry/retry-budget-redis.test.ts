import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isInvalidConfigError } from '../../src/errors/index.js';
import { RedisRetryBudget } from '../../src/retry/retry-budget.js';
import { connectForOutage, redisUrl, startRedisServer, uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';
import { forkWorker, type TestWorker } from '../support/workers.js';

const WORKER = new URL('../fixtures/budget-worker.ts', import.meta.url);
const redis = sharedRedis();

describe('RedisRetryBudget', () => {
  it('two clients on one key share one budget', async () => {
    const key = uniquePrefix('budget');
    const other = new Redis(await redisUrl());
    const a = new RedisRetryBudget({ redis: redis(), key, ratio: 0.5, minRetries: 0 });
    const b = new RedisRetryBudget({ redis: other, key, ratio: 0.5, minRetries: 0 });
    await a.recordCall();
    await b.recordCall();
    await a.recordCall();
    await b.recordCall();
    // 4 calls * 0.5 = 2 retries, whoever asks
    expect(await a.tryRetry()).toBe(true);
    expect(await b.tryRetry()).toBe(true);
    expect(await a.tryRetry()).toBe(false);
    expect(await b.tryRetry()).toBe(false);
    expect(await b.inspect()).toEqual({ calls: 4, retries: 2, allowed: 2 });
    other.disconnect();
    await redis().del(key);
  });

  it('forgets calls older than the window (server clock)', async () => {
    const key = uniquePrefix('budget');
    const budget = new RedisRetryBudget({
      redis: redis(),
      key,
      ratio: 1,
      minRetries: 0,
      windowMs: 300,
      buckets: 3,
    });
    await budget.recordCall();
    expect(await budget.tryRetry()).toBe(true);
    expect(await budget.tryRetry()).toBe(false);
    await new Promise((r) => setTimeout(r, 450));
    expect(await budget.inspect()).toMatchObject({ calls: 0, retries: 0 });
    await redis().del(key);
  });

  it('answers "no retry" when Redis is unreachable', async () => {
    const server = await startRedisServer();
    const client = await connectForOutage(server);
    const budget = new RedisRetryBudget({ redis: client, key: 'b', minRetries: 5 });
    expect(await budget.tryRetry()).toBe(true);
    server.kill();
    await new Promise((r) => setTimeout(r, 100));
    expect(await budget.tryRetry()).toBe(false);
    await expect(budget.recordCall()).resolves.toBeUndefined();
    client.disconnect();
  });

  it('refuses bad options', () => {
    for (const options of [{ ratio: 2 }, { windowMs: 0 }, { minRetries: -1 }, { key: '' }]) {
      try {
        new RedisRetryBudget({ redis: redis(), key: 'k', ...options });
        expect.unreachable();
      } catch (e) {
        expect(isInvalidConfigError(e)).toBe(true);
      }
    }
  });
});

describe('a shared retry budget across real worker processes', () => {
  let workers: TestWorker[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });

  it('an outage seen by three workers does not become a retry storm', async () => {
    const key = uniquePrefix('budget');
    const url = await redisUrl();
    workers = await Promise.all(
      [0, 1, 2].map(() => forkWorker(WORKER, { REDIS_URL: url, BUDGET_KEY: key })),
    );
    const replies = await Promise.all(
      workers.map((w) => w.request<{ providerCalls: number }>({ cmd: 'storm', calls: 20 })),
    );
    const providerCalls = replies.reduce((sum, r) => sum + r.providerCalls, 0);
    const retries = providerCalls - 60;
    // Without a budget: 60 * 4 = 240 provider calls. With it: at most 2 + 20% of 60 retries.
    expect(retries).toBeLessThanOrEqual(2 + 0.2 * 60);
    expect(retries).toBeGreaterThan(0);
    const snapshot = await new RedisRetryBudget({
      redis: redis(),
      key,
      ratio: 0.2,
      minRetries: 2,
      windowMs: 30_000,
    }).inspect();
    expect(snapshot).toMatchObject({ calls: 60, retries });
    await redis().del(key);
  });
});
