/**
 * Reservations, refunds, charges, holds and looks of one event-loop turn reach Redis in the order
 * they arrived, as MemoryStore applies them one after the other (and as before settles were
 * batched, when each went out at once): a reservation after a charge sees the charge, one after a
 * cancel gets the slot back, even when an earlier reservation of the same turn is already waiting
 * to be sent; a cancel and a provider's 429 handled together give the slot back before the hold;
 * a look after an unawaited settle reads the settled schedule.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore, RedisStore } from '../../src/limiter/index.js';
import { costUs, makeRate } from '../../src/limiter/rate.js';
import type { Grant, LimiterSpec, ReserveOutcome, Store } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis({ preloadScripts: true });

const strip = (o: ReserveOutcome): ReserveOutcome => {
  const { serverNowUs: _, ...rest } = o as ReserveOutcome & { serverNowUs?: number };
  return rest;
};

for (const algorithm of ['gcra', 'token-bucket'] as const) {
  describe(`${algorithm} on Redis, in one turn`, () => {
    const spec: LimiterSpec = { key: 'k', algorithm, rate: makeRate(10, 60_000_000, 2) };
    const unit = costUs(spec.rate, 1);
    const units = costUs(spec.rate, 2);
    const now = 1_700_000_000_000_000;
    const clock = () => new ManualClock(now / 1000);
    const onRedis = (name: string) =>
      new RedisStore(redis(), { prefix: uniquePrefix(name), clock: clock() });

    it('a reservation after a charge sees the charge', async () => {
      const run = (store: Store) => [
        store.reserve([spec], [unit], 0, now),
        store.charge(spec, unit, now).then(() => undefined),
        store.reserve([spec], [unit], 0, now),
      ];
      const memory = new MemoryStore();
      const expected: unknown[] = [];
      for (const p of run(memory)) expected.push(await p);
      const store = onRedis('order-charge');
      const actual = (await Promise.all(run(store))).map((o) => (o ? strip(o) : o));
      expect((expected[2] as ReserveOutcome).granted).toBe(false);
      expect(actual).toEqual(expected);
      expect(await store.look(spec, now)).toEqual(await memory.look(spec, now));
    });

    it('a reservation after a cancel gets the slot back', async () => {
      const memory = new MemoryStore();
      const store = onRedis('order-cancel');
      const setup = async (s: Store) => {
        await s.reserve([spec], [unit], 0, now);
        const last = await s.reserve([spec], [unit], 0, now);
        if (!last.granted) throw new Error('setup');
        return last.grants[0]!;
      };
      const run = (s: Store, grant: Grant) => [
        s.reserve([spec], [unit], 0, now),
        s.refund(spec, grant, grant.spanUs, now).then(() => undefined),
        s.reserve([spec], [unit], 0, now),
      ];
      const memoryGrant = await setup(memory);
      const expected: unknown[] = [];
      for (const p of run(memory, memoryGrant)) expected.push(await p);
      const redisGrant = await setup(store);
      const actual = (await Promise.all(run(store, redisGrant))).map((o) => (o ? strip(o) : o));
      expect((expected[2] as ReserveOutcome).granted).toBe(true);
      expect(actual).toEqual(expected);
    });

    /** Two grants of the whole burst: the second one starts a burst's time later. */
    const twoGrants = async (store: Store): Promise<Grant> => {
      await store.reserve([spec], [units], Number.MAX_SAFE_INTEGER, now);
      const second = await store.reserve([spec], [units], Number.MAX_SAFE_INTEGER, now);
      if (!second.granted) throw new Error('setup');
      return second.grants[0]!;
    };

    it('a cancel then a hold: the hold comes after the slot given back', async () => {
      const memory = new MemoryStore();
      const store = onRedis('order-hold');
      const m = await twoGrants(memory);
      const r = await twoGrants(store);
      await memory.refund(spec, m, m.spanUs, now);
      await memory.hold(spec, 1000, now);
      await Promise.all([store.refund(spec, r, r.spanUs, now), store.hold(spec, 1000, now)]);
      expect(await store.look(spec, now)).toEqual(await memory.look(spec, now));
      const next = await memory.reserve([spec], [units], Number.MAX_SAFE_INTEGER, now);
      const onRedisNext = await store.reserve([spec], [units], Number.MAX_SAFE_INTEGER, now);
      expect(strip(onRedisNext)).toEqual(next);
    });

    it('a charge then a look: the look reads the charge', async () => {
      const memory = new MemoryStore();
      const store = onRedis('order-look');
      const charged = store.charge(spec, units, now);
      const look = store.look(spec, now);
      await memory.charge(spec, units, now);
      expect(await look).toEqual(await memory.look(spec, now));
      await charged;
    });
  });
}
