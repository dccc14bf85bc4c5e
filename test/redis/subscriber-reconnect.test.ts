/**
 * The subscriber connections the library opens (`redis.duplicate()`: a RedisBudgetStore's for
 * its waiters, the shared circuit's) subscribe again by themselves after every reconnection, as
 * after a Sentinel failover (test/redis/sentinel-failover.test.ts and
 * test/circuit/shared-circuit-pubsub.test.ts check that they do), and leave nothing to reject
 * unhandled when they close. ioredis's
 * own re-subscription (`autoResubscribe`) sends a SUBSCRIBE whose promise nobody holds: a
 * subscriber closed before that SUBSCRIBE's reply (a store whose last waiter left just then)
 * rejected it unhandled, which Node's default `--unhandled-rejections=throw` turns into a crash.
 * Seen twice in about 25 runs of test/redis/sentinel-failover.test.ts on ioredis 5.11.1; made
 * certain here by a TCP relay between the client and Redis that holds Redis's replies back from
 * the reconnection's `ready` on, so that the subscriber closes with its SUBSCRIBEs unanswered.
 */
import { createServer, type Server, Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { circuitBreakerPolicy } from '../../src/circuit/circuit-breaker-policy.js';
import { Budget } from '../../src/limiter/budget.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { takeLeaks } from '../setup/leak-trap.js';
import { sleep } from '../support/real-time.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A TCP relay to Redis on a loopback port: every connection through it is relayed both ways,
 * except that while `hold` is on, what Redis sends is kept back (and dropped at the close).
 */
async function relay(): Promise<{ port: number; hold(on: boolean): void }> {
  const { hostname, port } = new URL(await redisUrl());
  let holding = false;
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(Number(port || 6379), hostname);
    client.on('data', (data) => upstream.write(data));
    upstream.on('data', (data) => {
      if (!holding) client.write(data);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
      socket.on('end', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    hold: (on) => {
      holding = on;
    },
  };
}

/** A client named `name` (its duplicates keep the name), through `port`, closed after the test. */
function client(name: string, port: number): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, connectionName: name });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  return redis;
}

/** Kills the pub/sub connections named `name` once there is one; resolves with their count. */
async function killSubscribers(admin: Redis, name: string): Promise<number> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const ids = ((await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
      .split('\n')
      .filter((line) => line.includes(` name=${name} `) && !line.includes(' sub=0 '))
      .map((line) => /id=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    if (ids.length > 0 || performance.now() > deadline) {
      for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
      return ids.length;
    }
    await sleep(20);
  }
}

/**
 * The real client, through a proxy that keeps the subscriber the library makes of it
 * (`duplicate()`) at hand; everything else goes to the client itself.
 */
function keepingDuplicates(redis: Redis): { client: Redis; subscriber: () => Redis } {
  let sub: Redis | undefined;
  const client = new Proxy(redis, {
    get(target, property) {
      if (property === 'duplicate') {
        return (...args: Parameters<Redis['duplicate']>) => {
          sub = target.duplicate(...args);
          return sub;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    client,
    subscriber: () => {
      if (!sub) throw new Error('no subscriber made yet');
      return sub;
    },
  };
}

/**
 * Resolves on the next `ready` of `redis` (a reconnection's), from which on Redis's replies are
 * held back: the SUBSCRIBEs sent on that `ready` stay unanswered.
 */
const nextReady = (redis: Redis, hold: (on: boolean) => void) =>
  new Promise<void>((resolve) =>
    redis.once('ready', () => {
      hold(true);
      resolve();
    }),
  );

describe('subscriber connections closed just after a reconnection', () => {
  it('RedisBudgetStore: closed with its re-subscription unanswered, leaks no rejection', async () => {
    const name = uniquePrefix('resub-store').replaceAll(':', '-');
    const { port, hold } = await relay();
    const redis = client(name, port);
    const admin = client(`${name}-admin`, Number(new URL(await redisUrl()).port || 6379));
    const { client: keeping, subscriber } = keepingDuplicates(redis);
    const store = new RedisBudgetStore(keeping, { prefix: uniquePrefix('resub') });
    cleanups.push(() => store.close());
    const budget = new Budget({
      dimensions: [{ name: 'tpm', key: 'k', limit: 10, periodMs: 60_000 }],
      store,
    });
    // A caller waits (planned 30 s away): the store holds its subscriber.
    const first = await budget.acquire([10]);
    cleanups.push(() => first.cancel());
    const abort = new AbortController();
    const waiting = budget.acquire([5], { signal: abort.signal }).catch((e: unknown) => e);
    cleanups.push(async () => {
      abort.abort();
      await waiting;
    });

    expect(await killSubscribers(admin, name)).toBe(1);
    // Back and ready: the store's own SUBSCRIBE is on its way (and ioredis's, were it on).
    await nextReady(subscriber(), hold);
    store.close();
    await sleep(200);
    expect(takeLeaks().map((l) => String(l.error))).toEqual([]);
  });

  it('shared circuit: disposed of with its re-subscription unanswered, leaks no rejection', async () => {
    const name = uniquePrefix('resub-circuit').replaceAll(':', '-');
    const { port, hold } = await relay();
    const redis = client(name, port);
    const admin = client(`${name}-admin`, Number(new URL(await redisUrl()).port || 6379));
    const { client: keeping, subscriber } = keepingDuplicates(redis);
    const policy = circuitBreakerPolicy({
      shared: { redis: keeping, key: `${uniquePrefix('resub')}:circuit`, syncIntervalMs: 10_000 },
    });
    cleanups.push(() => policy.dispose());
    await expect(policy.execute(() => 'ok')).resolves.toBe('ok');

    expect(await killSubscribers(admin, name)).toBe(1);
    // Disposing of the last circuit on the client closes its subscriber.
    await nextReady(subscriber(), hold);
    policy.dispose();
    await sleep(200);
    expect(takeLeaks().map((l) => String(l.error))).toEqual([]);
  });
});
