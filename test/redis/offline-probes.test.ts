/**
 * While the client cannot send at once, the store's recovery checks send nothing: with ioredis's
 * offline queue (and `maxRetriesPerRequest: null`, as BullMQ asks of its connections), every
 * probe sent then would wait in the queue for the whole outage and all run at its end. That is
 * so while the client reconnects, and while its connection is back but not ready (status
 * `connect`: its ready check, INFO, has no answer yet, as while Redis loads its dataset after a
 * restart).
 */
import { createServer, type Server, Socket } from 'node:net';
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
import { sharedRedis } from '../support/shared-redis.js';

/** A store on `client` that gives up on a command after 50 ms and checks every 20 ms. */
function watchedStore(client: RedisScriptClient, name: string) {
  const store = new RedisStore(client, {
    prefix: uniquePrefix(name),
    timeoutMs: 50,
    recheckMs: 20,
  });
  const counter = { recovered: 0 };
  store.onRecovered(() => counter.recovered++);
  const limiter = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 5, store });
  return { limiter, counter };
}

describe('recovery checks and a reconnecting client', () => {
  const redis = sharedRedis({ preloadScripts: true });

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
        return status === 'ready' ? redis().evalsha(...args) : hang();
      },
      eval: (...args) => {
        sent++;
        return status === 'ready' ? redis().eval(...args) : hang();
      },
      ping: () => redis().ping(),
    };
    const { limiter, counter } = watchedStore(client, 'offline');
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    status = 'reconnecting';
    await expect(limiter.tryAcquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
    const sentWhenDown = sent;
    await sleep(400); // about 20 recheck ticks
    expect(sent).toBe(sentWhenDown);
    status = 'ready';
    while (counter.recovered === 0) await sleep(10);
    expect((await limiter.tryAcquire()).allowed).toBe(true);
  });
});

describe('recovery checks and a client whose ready check is pending', () => {
  let proxy: Server;
  let port: number;
  /** 'forward': a proxy to Redis; 'silent': connections are accepted and never answered. */
  let mode: 'forward' | 'silent' = 'forward';
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    const url = new URL(await redisUrl());
    proxy = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => {});
      if (mode === 'silent') return;
      const upstream = new Socket();
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      upstream.connect(Number(url.port || 6379), url.hostname, () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('send no probe while the client is connected but not ready', async () => {
    const redis = new Redis({
      host: '127.0.0.1',
      port,
      maxRetriesPerRequest: null,
      retryStrategy: () => 20,
    });
    let sentNotReady = 0;
    const count = () => {
      if (redis.status !== 'ready') sentNotReady++;
    };
    const client: RedisScriptClient & { readonly status: string } = {
      get status() {
        return redis.status;
      },
      evalsha: (...args) => {
        count();
        return redis.evalsha(...args);
      },
      eval: (...args) => {
        count();
        return redis.eval(...args);
      },
      ping: () => redis.ping(),
    };
    const { limiter, counter } = watchedStore(client, 'connectprobe');
    try {
      // Connected first: the store's 50 ms would otherwise include the connection's handshake.
      await redis.ping();
      expect((await limiter.tryAcquire()).allowed).toBe(true);
      mode = 'silent';
      for (const s of sockets) s.destroy();
      while (redis.status !== 'connect') await sleep(5);
      await expect(limiter.tryAcquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
      const before = sentNotReady;
      await sleep(400); // about 20 recheck ticks, the client still waiting for its ready check
      expect(redis.status).toBe('connect');
      expect(sentNotReady - before).toBe(0);
      mode = 'forward';
      for (const s of sockets) s.destroy();
      while (counter.recovered === 0) await sleep(10);
      expect((await limiter.tryAcquire()).allowed).toBe(true);
    } finally {
      mode = 'forward';
      redis.disconnect();
    }
  });
});
