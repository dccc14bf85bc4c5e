/**
 * One key is one budget: two limiters on one key of one store with different limits (rate, burst
 * or algorithm) are refused when the second is made, naming the key and both limits.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gcra,
  isInvalidConfigError,
  LimiterKeyConflictError,
  MemoryStore,
  RedisStore,
  type Store,
  tokenBucket,
} from '../../src/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

function conflict(make: () => unknown): LimiterKeyConflictError {
  try {
    make();
  } catch (error) {
    if (error instanceof LimiterKeyConflictError) return error;
    throw error;
  }
  throw new Error('expected a LimiterKeyConflictError');
}

const stores: [string, () => Store][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore(redis, { prefix: uniquePrefix('conflict') })],
];

describe.each(stores)('%s: one key, one set of limits', (_, makeStore) => {
  it('a second limiter with another limit on the key is refused, naming the key', () => {
    const store = makeStore();
    gcra({ key: 'rpm', limit: 50, periodMs: 60_000, burst: 5, store });
    const error = conflict(() =>
      gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 5, store }),
    );
    expect(error.key).toBe('rpm');
    expect(error.message).toContain('"rpm"');
    expect(error.existing).toBe('gcra: 50 per 60000 ms, burst 5');
    expect(error.requested).toBe('gcra: 60 per 60000 ms, burst 5');
    expect(error.code).toBe('LIMITER_KEY_CONFLICT');
    expect(isInvalidConfigError(error)).toBe(true);
  });

  it('another burst or another algorithm on the key is refused too', () => {
    const store = makeStore();
    gcra({ key: 'k', limit: 10, periodMs: 1000, store });
    conflict(() => gcra({ key: 'k', limit: 10, periodMs: 1000, burst: 2, store }));
    const error = conflict(() =>
      tokenBucket({ key: 'k', capacity: 10, refillPerSecond: 10, store }),
    );
    expect(error.requested).toBe('token-bucket: capacity 10, refill 10/s');
  });

  it('the same limits, however written, are one budget shared', () => {
    const store = makeStore();
    gcra({ key: 'k', limit: 10, periodMs: 1000, store });
    expect(() => gcra({ key: 'k', limit: 10, periodMs: 1000, burst: 10, store })).not.toThrow();
    // 600 per minute is 10 per second: the same schedule.
    expect(() => gcra({ key: 'k', limit: 600, periodMs: 60_000, burst: 10, store })).not.toThrow();
  });

  it('other keys, and the same key on another store, are independent', () => {
    const store = makeStore();
    gcra({ key: 'a', limit: 10, periodMs: 1000, store });
    expect(() => gcra({ key: 'b', limit: 20, periodMs: 1000, store })).not.toThrow();
    expect(() => gcra({ key: 'a', limit: 20, periodMs: 1000, store: makeStore() })).not.toThrow();
  });
});

describe('a key is claimed while a limiter on it lives', () => {
  it('once every limiter on a key is garbage, the key may take other limits', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const store = new MemoryStore();
    // Made in a function of its own, so that nothing here keeps the limiter reachable.
    (() => {
      gcra({ key: 'k', limit: 10, periodMs: 1000, store });
    })();
    let released = false;
    for (let i = 0; i < 50 && !released; i++) {
      gc();
      await turn();
      try {
        gcra({ key: 'k', limit: 20, periodMs: 1000, store });
        released = true;
      } catch (error) {
        if (!(error instanceof LimiterKeyConflictError)) throw error;
      }
    }
    expect(released).toBe(true);
  });
});
