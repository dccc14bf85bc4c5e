/** The RedisStore on a real 3-master Redis Cluster: groups are one atomic call, no CROSSSLOT. */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcra, limiterGroup, RedisStore, tokenBucket } from '../../src/index.js';
import { uniquePrefix } from '../support/redis.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
let client: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster([...cluster.nodes]);
}, 60_000);
afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

function budget(prefix: string) {
  const store = new RedisStore(client, { prefix });
  const rpm = gcra({ key: 'anthropic:rpm', limit: 50, periodMs: 60_000, burst: 5, store });
  const itpm = tokenBucket({
    key: 'anthropic:itpm',
    capacity: 30_000,
    refillPerSecond: 500,
    store,
  });
  const otpm = tokenBucket({ key: 'anthropic:otpm', capacity: 8_000, refillPerSecond: 133, store });
  const tenant = gcra({ key: 'tenant:{acme}\n', limit: 10, periodMs: 60_000, burst: 2, store });
  return { store, limits: limiterGroup([rpm, itpm, otpm, tenant]) };
}

describe('RedisStore on a Redis Cluster', () => {
  it('the cluster really refuses a multi-key call across slots (the test means something)', async () => {
    await expect(client.eval('return 1', 2, '{a}x', '{b}y')).rejects.toThrow(/CROSSSLOT/);
  });

  it('acquires a mixed GCRA/token-bucket group atomically on every shard', async () => {
    // Several budgets: their prefixes hash to different slots, so different masters.
    const prefixes = Array.from({ length: 12 }, (_, i) => uniquePrefix(`cluster${i}`));
    const slots = new Set<number>();
    for (const prefix of prefixes) {
      const { store, limits } = budget(prefix);
      const permit = await limits.acquire([1, 1200, 4000, 1]);
      await permit.settle([1, 1100, 250, 1]);
      expect((await limits.tryAcquire([1, 1000, 7000, 1])).allowed).toBe(true);
      // Tenant burst 2 is used: the whole group refuses, and charges nothing elsewhere.
      const before = await limits.inspect();
      expect((await limits.tryAcquire([1, 1000, 10, 1])).allowed).toBe(false);
      const after = await limits.inspect();
      expect(after[0]!.available).toBe(before[0]!.available);
      expect(after[0]!.available).toBe(3);
      const keySlots = await Promise.all(
        limits.limiters.map(
          (l) => client.cluster('KEYSLOT', store.keyOf(l.spec)) as Promise<number>,
        ),
      );
      expect(new Set(keySlots).size).toBe(1);
      expect(keySlots[0]).toBe(await client.cluster('KEYSLOT', `{${prefix}}`));
      slots.add(keySlots[0]!);
    }
    // CLUSTER SLOTS: [[from, to, [host, port, id], ...], ...]
    const ranges = await client.cluster('SLOTS');
    const masters = new Set(
      [...slots].map((slot) => ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1]),
    );
    expect(masters.size).toBeGreaterThan(1);
  });
});
