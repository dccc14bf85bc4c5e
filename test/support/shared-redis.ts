/**
 * The shared Redis of `redisUrl()` for the tests of one file (or one `describe`): a client made
 * before its tests and closed after them. Call it where hooks may be registered.
 *
 * ```ts
 * const redis = sharedRedis();
 * it('...', async () => {
 *   const store = new RedisStore(redis(), { prefix: uniquePrefix('name') });
 * });
 * ```
 *
 * Kept apart from `redis.ts`, which child processes import outside vitest.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { preloadScripts, redisUrl } from './redis.js';

export interface SharedRedisOptions {
  /**
   * Load every RedisStore script before the tests: for tests that hold calls to their order,
   * which a first use's NOSCRIPT would upset (its resend lands after calls sent meanwhile).
   * @default false
   */
  preloadScripts?: boolean;
}

/** Registers the hooks; the function returned gives the client while the tests run. */
export function sharedRedis(options: SharedRedisOptions = {}): () => Redis {
  let client: Redis | undefined;
  beforeAll(async () => {
    client = new Redis(await redisUrl());
    if (options.preloadScripts) await preloadScripts(client);
  });
  afterAll(async () => {
    await client?.quit();
  });
  return () => {
    if (!client) throw new Error('sharedRedis(): the client exists only while its tests run');
    return client;
  };
}
