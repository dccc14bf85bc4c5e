/**
 * A RedisStore serving budgets locally (`onUnavailable: 'local'`), driven by a client that is
 * "down" on demand and a test clock, so the outcomes are exact. Each worker holds
 * 1/localWorkers of the burst and refills at 1/localWorkers of the rate: a unit comes back
 * localWorkers times slower than on the shared budget, and the times reported are this worker's.
 */
import { describe, expect, it } from 'vitest';
import { gcra, RedisStore, tokenBucket } from '../../src/index.js';
import { makeRate } from '../../src/limiter/rate.js';
import type { LimiterSpec } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { switchableClient, uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis();

const MAX = Number.MAX_SAFE_INTEGER;

/** A local-mode store whose Redis is down from the start; its outage events are expected. */
function downStore(localWorkers: number, clock: ManualClock): RedisStore {
  const { client, setDown } = switchableClient(redis());
  const store = new RedisStore(client, {
    prefix: uniquePrefix('local'),
    onUnavailable: 'local',
    localWorkers,
    recheckMs: 60_000,
    clock,
  });
  store.onUnavailable(() => {});
  setDown(true);
  return store;
}

describe('inspect and tryAcquire in local mode', () => {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(`report the local wait and refill times (${algorithm})`, async () => {
      const clock = new ManualClock();
      const store = downStore(4, clock);
      // 60/min, burst 20; locally 15/min (a unit every 4 s), burst 5.
      const limiter =
        algorithm === 'gcra'
          ? gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 20, store, clock })
          : tokenBucket({ key: 'rpm', capacity: 20, refillPerSecond: 1, store, clock });
      expect((await limiter.tryAcquire(2)).allowed).toBe(true);
      let snapshot = await limiter.inspect();
      expect(snapshot.available).toBe(3);
      expect(snapshot.retryAfterMs).toBe(0);
      // Two units taken: full again in 2 x 4 s.
      expect(snapshot.resetAfterMs).toBe(8000);
      expect((await limiter.tryAcquire(3)).allowed).toBe(true);
      const refused = await limiter.tryAcquire();
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBe(4000);
      expect(refused.resetAfterMs).toBe(20_000);
      snapshot = await limiter.inspect();
      expect(snapshot.available).toBe(0);
      expect(snapshot.retryAfterMs).toBe(4000);
    });
  }

  // The share's schedule (burst / localWorkers) need not be a whole number of µs.
  it('a full local share is full again in 0 ms, as on Redis', async () => {
    const clock = new ManualClock();
    const store = downStore(3, clock);
    // Burst 20 (20 s of schedule); a third of it is 6,666,666.67 µs.
    const limiter = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 20, store, clock });
    const snapshot = await limiter.inspect();
    expect(snapshot.available).toBe(6);
    expect(snapshot.retryAfterMs).toBe(0);
    expect(snapshot.resetAfterMs).toBe(0);
  });
});

// Only a cost above the share is refused (docs/redis.md). A unit whose schedule is not a whole
// number of µs is rounded up, and `localWorkers` rounded-up units can come to more than the
// burst's rounded-up schedule: a cost of exactly burst / localWorkers must still fit, at once.
describe("local mode and a cost of exactly this worker's share", () => {
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(`is admitted at once, and no more than the share (${algorithm})`, async () => {
      const clock = new ManualClock();
      const store = downStore(2, clock);
      // 3 a second (a unit is 333,333.3 µs), burst 2: each of the 2 workers holds 1 unit.
      const limiter =
        algorithm === 'gcra'
          ? gcra({ key: 'rps', limit: 3, periodMs: 1000, burst: 2, store, clock })
          : tokenBucket({ key: 'rps', capacity: 2, refillPerSecond: 3, store, clock });
      const first = await limiter.tryAcquire(1);
      expect(first.allowed).toBe(true);
      expect((await limiter.tryAcquire(1)).allowed).toBe(false);
    });
  }
});

// A grant handed to the caller carries its span divided by localWorkers: the local refund must
// compare like with like, or nearly every partial settle counts as an undo, the latest grant's
// start stops holding later callers back, and a caller arriving later is scheduled before it.
describe('local mode, settle', () => {
  it('a partial settle of a local grant keeps FIFO order (it is not an undo)', async () => {
    const clock = new ManualClock();
    const store = downStore(4, clock);
    // 1 unit/s, burst 20: locally 1 unit per 4 s, burst 5.
    const spec: LimiterSpec = { key: 'k', algorithm: 'gcra', rate: makeRate(60, 60_000_000, 20) };
    const now = () => Math.floor(clock.now() * 1000);
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
