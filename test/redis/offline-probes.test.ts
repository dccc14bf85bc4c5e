/**
 * While the client says it is reconnecting, the store's recovery checks send nothing: with
 * ioredis's offline queue (and `maxRetriesPerRequest: null`, as BullMQ asks of its connections),
 * every probe sent then would wait in the queue for the whole outage and all run at its end.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gcra,
  LimiterUnavailableError,
  type RedisScriptClient,
  RedisStore,
} from '../../src/index.js';
import { sleep } from '../support/real-time.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe('recovery checks and a reconnecting client', () => {
  it('send no probe until the client is ready again, then recover at once', async () => {
    let status = 'ready';
    let sent = 0;
    const hang = () => new Promise<never>(() => {});
    const client: RedisScriptClient & { readonly status: string } = {
      get status() {
        return status;
      },
      evalsha: (...args) => {
        sent++;
        return status === 'ready' ? redis.evalsha(...args) : hang();
      },
      eval: (...args) => {
        sent++;
        return status === 'ready' ? redis.eval(...args) : hang();
      },
      ping: () => redis.ping(),
    };
    const store = new RedisStore(client, {
      prefix: uniquePrefix('offline'),
      timeoutMs: 50,
      recheckMs: 20,
    });
    let recovered = 0;
    store.onRecovered(() => recovered++);
    const limiter = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 5, store });
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    status = 'reconnecting';
    await expect(limiter.tryAcquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
    const sentWhenDown = sent;
    await sleep(400); // about 20 recheck ticks
    expect(sent).toBe(sentWhenDown);
    status = 'ready';
    while (recovered === 0) await sleep(10);
    expect((await limiter.tryAcquire()).allowed).toBe(true);
  });
});
