/**
 * Reservations, refunds and charges of one event-loop turn reach Redis in the order they
 * arrived, as MemoryStore applies them one after the other: a reservation that arrives after a
 * charge sees the charge, and one that arrives after a cancel sees the slot given back, even when
 * an earlier reservation of the same turn is already waiting to be sent.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore, RedisStore } from '../../src/limiter/index.js';
import { costUs, makeRate } from '../../src/limiter/rate.js';
import type { LimiterSpec, ReserveOutcome, Store } from '../../src/limiter/store.js';
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

const strip = (o: ReserveOutcome): ReserveOutcome => {
  const { serverNowUs: _, ...rest } = o as ReserveOutcome & { serverNowUs?: number };
  return rest;
};

describe('one turn of reservations and adjustments on Redis', () => {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(`${algorithm}: a reservation after a charge in the same turn sees the charge`, async () => {
      const clock = new ManualClock(1_700_000_000_000);
      const spec: LimiterSpec = { key: 'k', algorithm, rate: makeRate(10, 60_000_000, 2) };
      const unit = costUs(spec.rate, 1);
      const now = Math.floor(clock.now() * 1000);
      const run = (store: Store) => [
        store.reserve([spec], [unit], 0, now),
        store.charge(spec, unit, now).then(() => undefined),
        store.reserve([spec], [unit], 0, now),
      ];
      const memory = new MemoryStore();
      const expected: unknown[] = [];
      for (const p of run(memory)) expected.push(await p);
      const store = new RedisStore(redis, { prefix: uniquePrefix('r4order'), clock });
      const actual = (await Promise.all(run(store))).map((o) => (o ? strip(o) : o));
      expect((expected[2] as ReserveOutcome).granted).toBe(false);
      expect(actual).toEqual(expected);
      expect(await store.look(spec, now)).toEqual(await memory.look(spec, now));
    });

    it(`${algorithm}: a reservation after a cancel in the same turn gets the slot back`, async () => {
      const clock = new ManualClock(1_700_000_000_000);
      const spec: LimiterSpec = { key: 'k', algorithm, rate: makeRate(10, 60_000_000, 2) };
      const unit = costUs(spec.rate, 1);
      const now = Math.floor(clock.now() * 1000);
      const memory = new MemoryStore();
      const store = new RedisStore(redis, { prefix: uniquePrefix('r4order'), clock });
      const setup = async (s: Store) => {
        await s.reserve([spec], [unit], 0, now);
        const last = await s.reserve([spec], [unit], 0, now);
        if (!last.granted) throw new Error('setup');
        return last.grants[0]!;
      };
      const run = (s: Store, grant: Awaited<ReturnType<typeof setup>>) => [
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
  }
});
