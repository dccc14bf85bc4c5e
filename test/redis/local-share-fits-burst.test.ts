/**
 * With `onUnavailable: 'local'`, each worker admits floor(burst / localWorkers) units while Redis
 * is away. A limiter whose burst is below `localWorkers` would refuse every call of the outage:
 * it is refused when it is made on such a store, naming both options.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, InvalidConfigError, RedisStore, tokenBucket } from '../../src/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

const localStore = (localWorkers: number) =>
  new RedisStore(redis, { prefix: uniquePrefix('fits'), onUnavailable: 'local', localWorkers });

function refusal(make: () => unknown): InvalidConfigError {
  try {
    make();
  } catch (error) {
    if (error instanceof InvalidConfigError) return error;
    throw error;
  }
  throw new Error('expected an InvalidConfigError');
}

describe("a limiter on a store with onUnavailable 'local'", () => {
  it('is refused when its burst is below localWorkers, naming both options', () => {
    const store = localStore(8);
    const error = refusal(() => gcra({ key: 'rpm', limit: 50, periodMs: 60_000, burst: 5, store }));
    expect(error.option).toBe('burst');
    expect(error.received).toBe(5);
    expect(error.message).toContain('localWorkers (8)');
    expect(error.message).toContain('"rpm"');
  });

  it('names capacity for a token bucket', () => {
    const store = localStore(4);
    const error = refusal(() => tokenBucket({ key: 't', capacity: 3, refillPerSecond: 1, store }));
    expect(error.option).toBe('capacity');
  });

  it('is accepted from a burst of localWorkers up, and on stores without the local mode', () => {
    expect(() =>
      gcra({ key: 'rpm', limit: 50, periodMs: 60_000, burst: 8, store: localStore(8) }),
    ).not.toThrow();
    const failClosed = new RedisStore(redis, { prefix: uniquePrefix('fits') });
    expect(() =>
      gcra({ key: 'rpm', limit: 50, periodMs: 60_000, burst: 1, store: failClosed }),
    ).not.toThrow();
  });
});
