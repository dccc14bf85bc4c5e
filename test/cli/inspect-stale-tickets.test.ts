/**
 * `inspect` (the CLI's reading of Redis, and a Budget's own `inspect()`) does not count a dead
 * worker's tickets as callers waiting: tickets due for longer than the claim grace are left out
 * of `queued` (and their costs out of what is free), as the next operation on the key will drop
 * them, and reading changes nothing in Redis. Against a real Redis: the dead worker wrote its
 * tickets with a clock a minute behind, so by Redis's clock they have been due for a minute;
 * another key holds tickets queued now, which do count.
 *
 * A store records each key's limit beside its queue, and with it the CLI judges every ticket. A
 * key without its record (written by an older version) is read without the limit: the CLI knows
 * a ticket is dead when a later one started past it (what happens while other workers go on),
 * and otherwise judges it by the latest start it could have, so a lone dead ticket still counts
 * until the limit is given.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRedis } from '../../src/cli/inspect-redis.js';
import { Budget } from '../../src/limiter/budget.js';
import type { BudgetSpec } from '../../src/limiter/budget-store.js';
import { makeRate } from '../../src/limiter/rate.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { ManualClock } from '../../src/testing/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const MAX = Number.MAX_SAFE_INTEGER;
const prefix = uniquePrefix('cli-inspect-stale');
// 6 a minute, burst 6: a unit every 10 s of schedule.
const rate = makeRate(6, 60_000_000, 6);
const dead: BudgetSpec = { key: 'dead', rate, lagUs: 0 };
const passed: BudgetSpec = { key: 'passed', rate, lagUs: 0 };
const live: BudgetSpec = { key: 'live', rate, lagUs: 0 };

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  redis?.disconnect();
});

const behindUs = (clock: { now(): number }) => Math.floor(clock.now() * 1000);

/** Empties `spec`'s bucket and queues two tickets that nobody will claim, at `clock`'s time. */
async function queueTwo(store: RedisBudgetStore, spec: BudgetSpec, clock: { now(): number }) {
  const nowUs = () => Math.floor(clock.now() * 1000);
  const full = await store.reserve([spec], [rate.capacityUs], 0, nowUs());
  expect(full.granted).toBe(true);
  for (let i = 0; i < 2; i++) {
    const queued = await store.reserve([spec], [rate.quotientUs], MAX, nowUs());
    expect(queued.granted && queued.plans[0]!.queued).toBe(true);
  }
}

describe('inspect and tickets past their claim grace', () => {
  it('counts only the callers still waiting, and changes nothing', async () => {
    // The dead worker's clock is a minute behind Redis's: its tickets are long past their grace.
    const behind = new ManualClock(Date.now() - 60_000);
    const deadWorker = new RedisBudgetStore(redis, { prefix, clock: behind });
    await queueTwo(deadWorker, dead, behind);
    // On the other key a third ticket started past the two (their workers are dead, its worker
    // went on).
    await queueTwo(deadWorker, passed, behind);
    const third = await deadWorker.reserve([passed], [rate.quotientUs], MAX, behindUs(behind));
    expect(third.granted).toBe(true);
    // The full bucket's call settles at nothing: the queue moves forward, the third's start has
    // come, and it starts past the two ahead of it, whose start came too.
    await deadWorker.adjust([passed], [-rate.capacityUs], behindUs(behind));
    const seq = third.granted ? third.plans[0]!.seq : -1;
    expect((await deadWorker.claim([passed], [seq], behindUs(behind))).status).toBe('started');
    const liveWorker = new RedisBudgetStore(redis, { prefix });
    await queueTwo(liveWorker, live, { now: () => Date.now() });
    const deadKey = liveWorker.keyOf(dead.key);
    const before = await redis.getBuffer(deadKey);

    const snapshot = await inspectRedis(redis, { key: prefix });
    const byName = new Map(snapshot.budgets.map((b) => [b.name, b]));
    console.log(
      `inspect: passed dead tickets queued ${byName.get('passed')?.queued}, lone dead tickets queued ${byName.get('dead')?.queued} ` +
        `(limit recorded), live tickets queued ${byName.get('live')?.queued}`,
    );
    expect(byName.get('passed')?.queued).toBe(0);
    expect(byName.get('live')?.queued).toBe(2);
    // The limit recorded beside the queue tells the lone dead tickets from live ones.
    expect(byName.get('dead')).toMatchObject({ queued: 0, limitSource: 'recorded', limit: 6 });
    // Without its record, a dead ticket nothing passed cannot be told from a live one.
    await redis.del(liveWorker.limitsKeyOf(dead.key));
    const unrecorded = await inspectRedis(redis, { key: prefix });
    const deadUnrecorded = unrecorded.budgets.find((b) => b.name === 'dead');
    expect(deadUnrecorded?.queued).toBe(2);
    expect(deadUnrecorded?.limit).toBeUndefined();
    // With the limit given, the dead key's tickets do not hold its capacity either: what the
    // dead worker took refilled long ago.
    const withLimits = await inspectRedis(redis, {
      key: prefix,
      limits: [{ name: 'dead', limit: 6, periodMs: 60_000 }],
    });
    const deadWithLimit = withLimits.budgets.find((b) => b.name === 'dead');
    expect(deadWithLimit?.queued).toBe(0);
    expect(deadWithLimit?.available).toBe(6);
    // A Budget reading the same keys says the same.
    const budget = new Budget({
      dimensions: [{ name: 'rpm', key: 'dead', limit: 6, periodMs: 60_000 }],
      store: liveWorker,
    });
    const [dim] = await budget.inspect();
    expect(dim?.queued).toBe(0);
    expect(dim?.available).toBe(6);
    // Reading wrote nothing: the tickets are dropped by the next operation, not by a look.
    expect((await redis.getBuffer(deadKey))?.equals(before!)).toBe(true);
    const next = await liveWorker.reserve([dead], [rate.quotientUs], 0, 0);
    expect(next.granted && !next.plans[0]!.queued).toBe(true);
    liveWorker.close();
    deadWorker.close();
  });
});
