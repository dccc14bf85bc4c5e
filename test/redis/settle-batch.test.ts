/**
 * The settles and cancels of one event-loop turn go to Redis as one script call, applied in
 * arrival order: the same decisions as the in-process store making them one after the other.
 */
import { describe, expect, it } from 'vitest';
import {
  gcra,
  limiterGroup,
  MemoryStore,
  type Permit,
  type RedisScriptClient,
  RedisStore,
  type Store,
  tokenBucket,
} from '../../src/index.js';
import { scriptSha } from '../../src/redis/eval-script.js';
import { adjustScript } from '../../src/stores/redis/lua/scripts.js';
import { ManualClock } from '../../src/testing/index.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis({ preloadScripts: true });

/** A client that counts the adjust script's calls. */
function counting(): { client: RedisScriptClient; adjustCalls: () => number } {
  let calls = 0;
  const sha = scriptSha(adjustScript);
  return {
    client: {
      evalsha: (...args) => {
        if (args[0] === sha) calls++;
        return redis().evalsha(...args);
      },
      eval: (...args) => redis().eval(...args),
      ping: () => redis().ping(),
    },
    adjustCalls: () => calls,
  };
}

function budget(store: Store, clock: ManualClock) {
  const rpm = gcra({ key: 'rpm', limit: 600, periodMs: 60_000, burst: 30, store, clock });
  const otpm = tokenBucket({ key: 'otpm', capacity: 30_000, refillPerSecond: 500, store, clock });
  return { rpm, otpm, group: limiterGroup([rpm, otpm]) };
}

describe('settles on Redis', () => {
  it('of one turn are one script call, deciding as the in-process store does in order', async () => {
    const clock = new ManualClock();
    const { client, adjustCalls } = counting();
    const onRedis = budget(
      new RedisStore(client, { prefix: uniquePrefix('settle'), clock }),
      clock,
    );
    const inMemory = budget(new MemoryStore(), clock);
    const take = async (b: typeof onRedis) => {
      const permits: Permit[] = [];
      for (let i = 0; i < 20; i++) {
        const decision = await b.group.tryAcquire([1, 1000]);
        expect(decision.allowed).toBe(true);
        permits.push(decision.permit!);
      }
      return permits;
    };
    const redisPermits = await take(onRedis);
    const memoryPermits = await take(inMemory);
    await clock.advance(700);
    // Refunds of earlier and later grants, charges, cancels: all in one turn.
    const actual = (i: number): [number, number] => [1, i % 3 === 0 ? 1400 : 200 + i * 10];
    const before = adjustCalls();
    await Promise.all(redisPermits.map((p, i) => (i % 5 === 4 ? p.cancel() : p.settle(actual(i)))));
    expect(adjustCalls() - before).toBe(1);
    for (const [i, p] of memoryPermits.entries()) {
      await (i % 5 === 4 ? p.cancel() : p.settle(actual(i)));
    }
    expect(await onRedis.rpm.inspect()).toEqual(await inMemory.rpm.inspect());
    expect(await onRedis.otpm.inspect()).toEqual(await inMemory.otpm.inspect());
    const next = [
      await onRedis.group.tryAcquire([1, 5000]),
      await inMemory.group.tryAcquire([1, 5000]),
    ];
    expect(next[0]!.allowed).toBe(next[1]!.allowed);
    expect(next[0]!.retryAfterMs).toBe(next[1]!.retryAfterMs);
  });

  it('a key of another type fails its own settle only', async () => {
    const store = new RedisStore(redis(), { prefix: uniquePrefix('settlebad') });
    const good = gcra({ key: 'good', limit: 60, periodMs: 60_000, burst: 5, store });
    const bad = gcra({ key: 'bad', limit: 60, periodMs: 60_000, burst: 5, store });
    const [g1, g2, b1] = [await good.acquire(2), await good.acquire(2), await bad.acquire(2)];
    await redis().del(store.keyOf(bad.spec));
    await redis().lpush(store.keyOf(bad.spec), 'not a limiter');
    const results = await Promise.allSettled([g1.settle(1), b1.settle(1), g2.cancel()]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    // 4 of 5 taken; the first gave 1 back (the ledger allows it: the second fitted in the
    // burst), the second, the latest, all of its 2: 4 available (more only after 1 s of refill).
    expect((await good.inspect()).available).toBeGreaterThanOrEqual(4);
  });
});
