/**
 * An ioredis client whose connection is back but not ready (status `connect`: its ready check,
 * INFO, has no answer yet, as while Redis loads its dataset after a restart) still queues every
 * command in its offline queue. A recovery probe sent then waits there like one sent while
 * reconnecting: probes pile up and all run when the client is ready.
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

let url: URL;
let proxy: Server;
let port: number;
/** 'forward': a proxy to Redis; 'silent': connections are accepted and never answered. */
let mode: 'forward' | 'silent' = 'forward';
const sockets = new Set<Socket>();

beforeAll(async () => {
  url = new URL(await redisUrl());
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

describe('recovery checks and a client whose ready check is pending', () => {
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
    const store = new RedisStore(client, {
      prefix: uniquePrefix('connectprobe'),
      timeoutMs: 50,
      recheckMs: 20,
    });
    let recovered = 0;
    store.onRecovered(() => recovered++);
    const limiter = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 5, store });
    try {
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
      while (recovered === 0) await sleep(10);
      expect((await limiter.tryAcquire()).allowed).toBe(true);
    } finally {
      mode = 'forward';
      redis.disconnect();
    }
  });
});
