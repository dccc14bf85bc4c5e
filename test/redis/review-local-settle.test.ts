/**
 * Review finding: in `onUnavailable: 'local'` mode, a grant handed to the caller carries its span
 * divided by localWorkers, and the local refund compared n times the refund with that divided
 * span, so nearly every partial settle counted as an undo: the latest grant's start stopped
 * holding later callers back, and a caller arriving later was scheduled before it (FIFO broken).
 * Driven by a client that is "down" on demand, so the outcomes are deterministic.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/index.js';
import { makeRate } from '../../src/limiter/rate.js';
import type { LimiterSpec } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { redisUrl, switchableClient, uniquePrefix } from '../support/redis.js';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

const MAX = Number.MAX_SAFE_INTEGER;

describe('RedisStore local mode, settle', () => {
  it('a partial settle of a local grant keeps FIFO order (it is not an undo)', async () => {
    const { client, setDown } = switchableClient(redis);
    const clock = new ManualClock(1_700_000_000_000);
    const store = new RedisStore(client, {
      prefix: uniquePrefix('local-fifo'),
      onUnavailable: 'local',
      localWorkers: 4,
      clock,
    });
    // 1 unit/s, burst 20: locally 1 unit per 4 s, burst 5.
    const rate = makeRate(60, 60_000_000, 20);
    const spec: LimiterSpec = { key: 'k', algorithm: 'gcra', rate };
    const now = () => Math.floor(clock.now() * 1000);
    setDown(true);
    expect((await store.reserve([spec], [5_000_000], MAX, now())).granted).toBe(true);
    // B waits 12 s (3 local units), then settles at 1 unit: it still runs, from its slot.
    const b = await store.reserve([spec], [3_000_000], MAX, now());
    expect(b).toMatchObject({ granted: true, waitUs: 12_000_000 });
    if (!b.granted) return;
    await store.refund(spec, b.grants[0]!, 2_000_000, now());
    // C arrives after B: it must not be scheduled before B's slot.
    const c = await store.reserve([spec], [1_000_000], MAX, now());
    expect(c.granted).toBe(true);
    expect(c.waitUs).toBeGreaterThanOrEqual(b.waitUs);
  });
});
