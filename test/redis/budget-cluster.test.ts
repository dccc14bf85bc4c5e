/**
 * A RedisBudgetStore on a real Redis Cluster (3 masters): a budget's keys share the prefix's
 * slot, so every operation is one script call (no CROSSSLOT), and the shifts the scripts publish
 * on one node reach a waiter whose subscriber (a duplicate of another Cluster client) listens on
 * whichever node it picked.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Budget } from '../../src/limiter/budget.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { uniquePrefix } from '../support/redis.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
const clients: Cluster[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

function connect(): Cluster {
  const c = new Cluster([...cluster.nodes]);
  c.on('error', () => {});
  clients.push(c);
  return c;
}

describe('RedisBudgetStore on a Redis Cluster', () => {
  it('serves a budget of several keys and moves a waiter of another client forward', {
    timeout: 30_000,
  }, async () => {
    const prefix = uniquePrefix('bcluster');
    const dimensions = [
      { name: 'rpm', key: 'org:rpm', limit: 100, periodMs: 100_000 },
      { name: 'otpm', key: 'org:otpm', limit: 10, periodMs: 10_000 },
    ];
    const a = new Budget({ dimensions, store: new RedisBudgetStore(connect(), { prefix }) });
    const b = new Budget({ dimensions, store: new RedisBudgetStore(connect(), { prefix }) });
    const taken = await a.acquire([1, 10]);
    const asked = performance.now();
    const waiting = b.acquire([1, 5]); // 5 s away at the bucket's pace
    await new Promise((r) => setTimeout(r, 500));
    expect((await b.inspect())[1]!.queued).toBe(1);
    await taken.settle([1, 1]);
    const permit = await waiting;
    const waitedMs = performance.now() - asked;
    console.log(`cluster: waiter of another client started after ${Math.round(waitedMs)} ms`);
    expect(waitedMs).toBeLessThan(2500);
    await permit.settle([1, 5]);
    // Worker a sees both requests in the shared rpm (a unit comes back each second).
    const [rpm] = await a.inspect();
    expect(rpm!.available).toBe(98);
  });
});
