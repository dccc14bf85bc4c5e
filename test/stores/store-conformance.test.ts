/**
 * One suite, three stores: MemoryStore, RedisStore on the shared Redis and RedisStore on a real
 * Redis Cluster answer the same calls of the public limiter API with the same numbers, for GCRA
 * and the token bucket alike. Every store runs on a test clock (RedisStore's `clock` option makes
 * its scripts read it instead of Redis TIME), so waits are exact. The clock moves only when a
 * case says so: a store's round trips take real time, during which it stands still.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  gcra,
  type Limiter,
  limiterGroup,
  MemoryStore,
  RateLimitExceededError,
  RedisStore,
  type Store,
  tokenBucket,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { settledAt, waitingAt } from '../support/clock-drive.js';
import { sleep } from '../support/real-time.js';
import { uniquePrefix } from '../support/redis.js';
import {
  preloadClusterScripts,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-cluster.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis({ preloadScripts: true });
let cluster: RedisCluster | undefined;
let clusterClient: Cluster | undefined;
beforeAll(async () => {
  cluster = await startRedisCluster();
  // Cases hold calls to their order, which a first use's NOSCRIPT resend would upset.
  await preloadClusterScripts(cluster);
  clusterClient = new Cluster([...cluster.nodes]);
}, 60_000);
afterAll(async () => {
  await clusterClient?.quit();
  await cluster?.stop();
});

const stores: ReadonlyArray<{ name: string; make: (clock: ManualClock) => Store }> = [
  { name: 'MemoryStore', make: () => new MemoryStore() },
  {
    name: 'RedisStore',
    make: (clock) => new RedisStore(redis(), { prefix: uniquePrefix('conformance'), clock }),
  },
  {
    name: 'RedisStore on a Redis Cluster',
    make: (clock) =>
      new RedisStore(clusterClient!, { prefix: uniquePrefix('conformance-cluster'), clock }),
  },
];

const T0 = 1_700_000_000_000;
type Algorithm = 'gcra' | 'token-bucket';

interface Limit {
  readonly limit: number;
  readonly periodMs: number;
  readonly burst: number;
}

for (const { name, make } of stores) {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    describe(`${name}, ${algorithm}`, () => {
      const other: Algorithm = algorithm === 'gcra' ? 'token-bucket' : 'gcra';
      /** A limiter of `limit` units per `periodMs`, `burst` at once, on algorithm `as`. */
      const build = (
        clock: ManualClock,
        store: Store,
        key: string,
        { limit, periodMs, burst }: Limit,
        as: Algorithm = algorithm,
      ): Limiter =>
        as === 'gcra'
          ? gcra({ key, limit, periodMs, burst, store, clock })
          : tokenBucket({
              key,
              capacity: burst,
              refillPerSecond: (limit * 1000) / periodMs,
              store,
              clock,
            });
      /** A fresh store and one limiter on it. */
      const setup = (limit: Limit) => {
        const clock = new ManualClock(T0);
        const store = make(clock);
        return { clock, store, limiter: build(clock, store, 'k', limit) };
      };

      it('a fresh key admits its burst at once, then one unit per emission interval, exactly', async () => {
        const { clock, limiter } = setup({ limit: 10, periodMs: 1000, burst: 3 });
        for (const remaining of [2, 1, 0]) {
          expect(await limiter.tryAcquire()).toMatchObject({ allowed: true, remaining });
        }
        const refused = await limiter.tryAcquire();
        expect(refused).toMatchObject({ allowed: false, retryAfterMs: 100 });
        await clock.advance(99);
        expect((await limiter.tryAcquire()).allowed).toBe(false);
        await clock.advance(1);
        expect((await limiter.tryAcquire()).allowed).toBe(true);
        // A waiting caller starts at its slot, not a µs before.
        const next = limiter.acquire();
        expect(await waitingAt(clock, next, T0 + 199)).toBe(true);
        const permit = await settledAt(clock, next, T0 + 200);
        expect(permit.startsAt).toBe(T0 + 200);
        expect(permit.waitedMs).toBe(100);
        expect((await limiter.tryAcquire()).allowed).toBe(false);
      });

      it('acquire reserves the earliest slot and wakes exactly then, in FIFO order', async () => {
        const { clock, limiter } = setup({ limit: 10, periodMs: 1000, burst: 1 });
        const started: Array<[number, number]> = [];
        const calls = [0, 1, 2, 3].map((i) =>
          limiter.acquire(1).then(() => started.push([i, clock.now() - T0])),
        );
        for (const [i, call] of calls.entries()) await settledAt(clock, call, T0 + 100 * i);
        expect(started).toEqual([
          [0, 0],
          [1, 100],
          [2, 200],
          [3, 300],
        ]);
      });

      it('cost 0 is a pure look: it answers but takes nothing', async () => {
        const { limiter } = setup({ limit: 2, periodMs: 1000, burst: 2 });
        expect((await limiter.tryAcquire(0)).allowed).toBe(true);
        expect((await limiter.inspect()).available).toBe(2);
        await limiter.tryAcquire(2);
        const look = await limiter.tryAcquire(0);
        expect(look.allowed).toBe(true);
        expect(look.remaining).toBe(0);
        expect((await limiter.inspect()).available).toBe(0);
      });

      it('inspect reports the limit, what is available, and when it refills', async () => {
        const { clock, limiter } = setup({ limit: 10, periodMs: 1000, burst: 5 });
        expect(await limiter.inspect()).toMatchObject({
          key: 'k',
          algorithm,
          burst: 5,
          available: 5,
          retryAfterMs: 0,
          resetAfterMs: 0,
          heldForMs: 0,
        });
        await limiter.tryAcquire(2);
        expect(await limiter.inspect()).toMatchObject({
          available: 3,
          retryAfterMs: 0,
          resetAfterMs: 200,
        });
        await limiter.tryAcquire(3);
        await clock.advance(50);
        expect(await limiter.inspect()).toMatchObject({
          available: 0,
          retryAfterMs: 50,
          resetAfterMs: 450,
        });
      });

      it('refuses at once, consuming nothing, when the slot is beyond maxWaitMs', async () => {
        const { limiter } = setup({ limit: 1, periodMs: 1000, burst: 1 });
        await limiter.acquire();
        const error = await limiter.acquire(1, { maxWaitMs: 500 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RateLimitExceededError);
        expect((error as RateLimitExceededError).retryAfterMs).toBe(1000);
        expect((await limiter.inspect()).retryAfterMs).toBe(1000);
      });

      // Its µs overflow a double (Infinity), which the JSON sent to Redis cannot carry.
      it('a maxWaitMs near Number.MAX_VALUE is no bound: the caller waits for its slot', async () => {
        const { clock, limiter } = setup({ limit: 20, periodMs: 1000, burst: 1 });
        await limiter.acquire();
        const next = limiter.acquire(1, { maxWaitMs: Number.MAX_VALUE });
        expect((await settledAt(clock, next, T0 + 50)).waitedMs).toBe(50);
      });

      it('cancel gives back the latest grant', async () => {
        const { limiter } = setup({ limit: 1, periodMs: 1000, burst: 2 });
        const first = await limiter.acquire();
        const second = await limiter.acquire();
        expect(await limiter.inspect()).toMatchObject({ available: 0, retryAfterMs: 1000 });
        await second.cancel();
        expect(await limiter.inspect()).toMatchObject({ available: 1, retryAfterMs: 0 });
        await first.cancel();
        expect((await limiter.inspect()).available).toBe(2);
      });

      it('an abort gives the waiting reservation back: the next caller gets its slot', async () => {
        const { clock, limiter } = setup({ limit: 1, periodMs: 1000, burst: 1 });
        await limiter.acquire();
        const controller = new AbortController();
        const waiting = limiter.acquire(1, { signal: controller.signal });
        // Its reservation has landed once the next unit is two slots away.
        while ((await limiter.inspect()).retryAfterMs !== 2000) await sleep(1);
        const reason = new Error('stop');
        controller.abort(reason);
        await expect(waiting).rejects.toBe(reason);
        // The aborted reservation was the tail: the next caller gets its slot (1 s), not 2 s.
        expect((await limiter.tryAcquire()).retryAfterMs).toBe(1000);
        expect(clock.pendingTimers).toBe(0);
      });

      it('a permit settles or cancels once; later calls do nothing', async () => {
        const { limiter } = setup({ limit: 10, periodMs: 1000, burst: 10 });
        const permit = await limiter.acquire(4);
        await permit.cancel();
        await permit.cancel();
        await permit.settle(10);
        expect((await limiter.inspect()).available).toBe(10);
      });

      it('settle below the reservation refunds, above it charges the difference', async () => {
        const { limiter } = setup({ limit: 10, periodMs: 1000, burst: 1000 });
        const permit = await limiter.acquire(800);
        await permit.settle(300);
        expect((await limiter.inspect()).available).toBe(700);
        const second = await limiter.acquire(700);
        await second.settle(900);
        // 200 units of debt, then one more: 201 units at 100 ms each.
        expect(await limiter.inspect()).toMatchObject({ available: 0, retryAfterMs: 20_100 });
      });

      it('a charge above the reservation is paid back by later waits', async () => {
        const { limiter } = setup({ limit: 1000, periodMs: 1000, burst: 100 });
        const permit = await limiter.acquire(10);
        await permit.settle(60);
        expect((await limiter.inspect()).available).toBe(40);
        const next = await limiter.tryAcquire(50);
        expect(next.allowed).toBe(false);
        expect(next.retryAfterMs).toBe(10);
      });

      it('a settle of an earlier grant gives back only what no later call stands on', async () => {
        const { limiter } = setup({ limit: 100, periodMs: 1000, burst: 100 });
        const first = await limiter.acquire(50);
        const second = await limiter.acquire(30);
        // Counted at settled cost from their start, only the second call (30) remains: 70 free.
        await first.settle(0);
        expect((await limiter.inspect()).available).toBe(70);
        await second.settle(10);
        expect((await limiter.inspect()).available).toBe(90);
      });

      it('a refund cannot free schedule that a later call needed: the bucket was full then', async () => {
        const { clock, limiter } = setup({ limit: 100, periodMs: 1000, burst: 100 });
        const early = await limiter.acquire(60);
        await clock.advance(1000); // full again: the next call stands on nothing early freed
        const late = await limiter.acquire(100);
        await early.settle(0);
        expect((await limiter.inspect()).available).toBe(0);
        await late.cancel();
        expect((await limiter.inspect()).available).toBe(100);
      });

      it('hold: no slot before the time, then the limiter refills from empty', async () => {
        const { clock, limiter } = setup({ limit: 10, periodMs: 1000, burst: 5 });
        await limiter.holdFor(2000);
        expect((await limiter.inspect()).heldForMs).toBe(2000);
        const refused = await limiter.tryAcquire(1);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBe(2100);
        const waiting = limiter.acquire();
        expect(await waitingAt(clock, waiting, T0 + 2099)).toBe(true);
        expect((await settledAt(clock, waiting, T0 + 2100)).waitedMs).toBe(2100);
        expect((await limiter.inspect()).heldForMs).toBe(0);
        expect((await limiter.tryAcquire(1)).allowed).toBe(false);
        await clock.advance(100);
        expect((await limiter.tryAcquire(1)).allowed).toBe(true);
      });

      it('a group is all-or-nothing across keys: a refusal charges no member', async () => {
        const clock = new ManualClock(T0);
        const store = make(clock);
        const rpm = build(clock, store, 'rpm', { limit: 50, periodMs: 60_000, burst: 5 });
        const itpm = build(
          clock,
          store,
          'itpm',
          { limit: 500, periodMs: 1000, burst: 30_000 },
          other,
        );
        const otpm = build(clock, store, 'otpm', { limit: 100, periodMs: 1000, burst: 8000 });
        const limits = limiterGroup([rpm, itpm, otpm]);
        expect((await limits.tryAcquire([1, 1000, 8000])).allowed).toBe(true);
        const before = await limits.inspect();
        const refused = await limits.tryAcquire([1, 1000, 4000]);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBe(40_000);
        const error = await limits.acquire([1, 1000, 4000], { maxWaitMs: 1000 }).catch((e) => e);
        expect(error).toBeInstanceOf(RateLimitExceededError);
        expect((error as RateLimitExceededError).key).toBe('otpm');
        const after = await limits.inspect();
        expect(after).toEqual(before);
        expect(after.map((s) => s.available)).toEqual([4, 29_000, 0]);
        // The refused attempts left RPM and ITPM exactly as one grant left them.
        expect(await limits.tryAcquire([4, 29_000, 0])).toMatchObject({ allowed: true });
      });

      it("a group's settle refunds each member its unused units", async () => {
        const clock = new ManualClock(T0);
        const store = make(clock);
        const rpm = build(clock, store, 'rpm', { limit: 50, periodMs: 60_000, burst: 50 }, other);
        const otpm = build(clock, store, 'otpm', { limit: 1000, periodMs: 1000, burst: 8000 });
        const permit = await limiterGroup([rpm, otpm]).acquire([1, 4000]);
        expect((await otpm.inspect()).available).toBe(4000);
        await permit.settle([1, 300]);
        expect((await otpm.inspect()).available).toBe(7700);
        expect((await rpm.inspect()).available).toBe(49);
      });
    });
  }
}

describe('RedisStore on a Redis Cluster: what only a Cluster can get wrong', () => {
  it('the cluster really refuses a multi-key call across slots (the suite means something)', async () => {
    await expect(clusterClient!.eval('return 1', 2, '{a}x', '{b}y')).rejects.toThrow(/CROSSSLOT/);
  });

  it('acquires a mixed GCRA/token-bucket group atomically on every shard', async () => {
    // Several budgets: their prefixes hash to different slots, so different masters.
    const client = clusterClient!;
    const prefixes = Array.from({ length: 12 }, (_, i) => uniquePrefix(`cluster${i}`));
    const slots = new Set<number>();
    for (const prefix of prefixes) {
      const store = new RedisStore(client, { prefix });
      const limits = limiterGroup([
        gcra({ key: 'anthropic:rpm', limit: 50, periodMs: 60_000, burst: 5, store }),
        tokenBucket({ key: 'anthropic:itpm', capacity: 30_000, refillPerSecond: 500, store }),
        tokenBucket({ key: 'anthropic:otpm', capacity: 8_000, refillPerSecond: 133, store }),
        gcra({ key: 'tenant:{acme}\n', limit: 10, periodMs: 60_000, burst: 2, store }),
      ]);
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
