import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { circuitBreakerPolicy } from '../../src/circuit/circuit-breaker-policy.js';
import { RedisSemaphore } from '../../src/concurrency/redis-semaphore.js';
import { InvalidConfigError } from '../../src/errors/index.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
const clients: Cluster[] = [];
const connect = () => {
  const c = new Cluster([...cluster.nodes]);
  clients.push(c);
  return c;
};
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

describe('on a real Redis Cluster', () => {
  it('the bulkhead queue keys share the slot of the semaphore key (no CROSSSLOT); order holds', async () => {
    for (const key of ['bulkhead:anthropic', 'llmr:{tenant-a}:bulkhead']) {
      const make = () => new RedisSemaphore({ redis: connect(), key, limit: 1, leaseMs: 5000 });
      const [holder, a, b] = [make(), make(), make()];
      const lease = (await holder.acquireOrQueue()) as { lease: string };
      const ta = (await a.acquireOrQueue()) as { ticket: string };
      const tb = (await b.acquireOrQueue()) as { ticket: string };
      expect(await holder.waiting()).toBe(2);
      await holder.release(lease.lease);
      expect(await b.takeTurn([tb.ticket])).toEqual([]);
      expect(await a.takeTurn([ta.ticket])).toEqual([ta.ticket]);
      await a.release(ta.ticket);
      expect(await b.takeTurn([tb.ticket])).toEqual([tb.ticket]);
      await b.release(tb.ticket);
      expect(await holder.waiting()).toBe(0);
    }
  });

  it('a key with a stray brace and no hash tag is refused, typed', () => {
    expect(
      () => new RedisSemaphore({ redis: connect(), key: 'a}b', limit: 1, leaseMs: 1000 }),
    ).toThrow(InvalidConfigError);
  });

  it('a shared circuit reaches the other client through pub/sub, not its 10 s poll', async () => {
    const key = 'circuit:cluster-pubsub';
    const shared = { key, syncIntervalMs: 10_000 };
    const a = circuitBreakerPolicy({
      consecutiveFailures: 1,
      shared: { ...shared, redis: connect() },
    });
    const b = circuitBreakerPolicy({
      consecutiveFailures: 1,
      shared: { ...shared, redis: connect() },
    });
    try {
      // both subscribed: PUBSUB NUMSUB counts on one node, so add up the masters'
      const listeners = async () => {
        let n = 0;
        for (const node of clients[0]?.nodes('master') ?? []) {
          n += Number(((await node.pubsub('NUMSUB', `${key}:changed`)) as [string, number])[1]);
        }
        return n;
      };
      const deadline = Date.now() + 10_000;
      while ((await listeners()) < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await listeners()).toBeGreaterThanOrEqual(2);
      const seen = new Promise<number>((resolve) => {
        b.onStateChange((s) => {
          if (s.state === 'open') resolve(Date.now());
        });
      });
      const openedAt = Date.now();
      await a
        .execute(() => Promise.reject(Object.assign(new Error('529'), { status: 529 })))
        .catch(() => {});
      const lag = (await seen) - openedAt;
      console.info('cluster pub/sub lag (ms):', lag);
      expect(lag).toBeLessThan(2000);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
