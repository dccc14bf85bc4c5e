/**
 * A hold or a look that arrives after a refund or a charge of the same turn sees it, on Redis as
 * in MemoryStore (and as before settles were batched, when each went out at once): a cancel and
 * a provider's 429 handled together give the slot back before the hold, and a look after an
 * unawaited settle reads the settled schedule.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore, RedisStore } from '../../src/limiter/index.js';
import { costUs, makeRate } from '../../src/limiter/rate.js';
import type { Grant, LimiterSpec, Store } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { preloadScripts, redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
  await preloadScripts(redis);
});
afterAll(async () => {
  await redis.quit();
});

for (const algorithm of ['gcra', 'token-bucket'] as const) {
  describe(`${algorithm} on Redis, in one turn`, () => {
    const spec: LimiterSpec = { key: 'k', algorithm, rate: makeRate(10, 60_000_000, 2) };
    const units = costUs(spec.rate, 2);
    const now = 1_700_000_000_000_000;
    const clock = () => new ManualClock(now / 1000);
    /** Two grants of the whole burst: the second one starts a burst's time later. */
    const twoGrants = async (store: Store): Promise<Grant> => {
      await store.reserve([spec], [units], Number.MAX_SAFE_INTEGER, now);
      const second = await store.reserve([spec], [units], Number.MAX_SAFE_INTEGER, now);
      if (!second.granted) throw new Error('setup');
      return second.grants[0]!;
    };

    it('a cancel then a hold: the hold comes after the slot given back', async () => {
      const memory = new MemoryStore();
      const store = new RedisStore(redis, { prefix: uniquePrefix('r4hold'), clock: clock() });
      const m = await twoGrants(memory);
      const r = await twoGrants(store);
      await memory.refund(spec, m, m.spanUs, now);
      await memory.hold(spec, 1000, now);
      await Promise.all([store.refund(spec, r, r.spanUs, now), store.hold(spec, 1000, now)]);
      expect(await store.look(spec, now)).toEqual(await memory.look(spec, now));
      const next = await memory.reserve([spec], [units], Number.MAX_SAFE_INTEGER, now);
      const { serverNowUs: _, ...onRedis } = await store.reserve(
        [spec],
        [units],
        Number.MAX_SAFE_INTEGER,
        now,
      );
      expect(onRedis).toEqual(next);
    });

    it('a charge then a look: the look reads the charge', async () => {
      const memory = new MemoryStore();
      const store = new RedisStore(redis, { prefix: uniquePrefix('r4look'), clock: clock() });
      const charged = store.charge(spec, units, now);
      const look = store.look(spec, now);
      await memory.charge(spec, units, now);
      expect(await look).toEqual(await memory.look(spec, now));
      await charged;
    });
  });
}
