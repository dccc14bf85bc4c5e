import { describe, expect, it } from 'vitest';
import {
  CostExceedsCapacityError,
  gcra,
  InvalidLimiterConfigError,
  limiterGroup,
  MemoryStore,
  RateLimitExceededError,
  tokenBucket,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('gcra limiter', () => {
  it('admits a burst at once, then one unit per emission interval', async () => {
    const clock = new ManualClock();
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 3, clock });
    for (let i = 0; i < 3; i++) expect((await rpm.tryAcquire()).allowed).toBe(true);
    const refused = await rpm.tryAcquire();
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(1000);
    await clock.advance(999);
    expect((await rpm.tryAcquire()).allowed).toBe(false);
    await clock.advance(1);
    expect((await rpm.tryAcquire()).allowed).toBe(true);
  });

  it('acquire reserves the earliest slot and wakes exactly then, in FIFO order', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 10, periodMs: 1000, burst: 1, clock });
    const started: Array<[number, number]> = [];
    const calls = [0, 1, 2, 3].map((i) =>
      limiter.acquire(1).then(() => started.push([i, clock.now() - 1_700_000_000_000])),
    );
    await clock.advance(1000);
    await Promise.all(calls);
    expect(started).toEqual([
      [0, 0],
      [1, 100],
      [2, 200],
      [3, 300],
    ]);
  });

  it('refuses at once, consuming nothing, when the slot is beyond maxWaitMs', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const error = await limiter.acquire(1, { maxWaitMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitExceededError);
    expect((error as RateLimitExceededError).retryAfterMs).toBe(1000);
    expect((await limiter.inspect()).retryAfterMs).toBe(1000);
  });

  it('abort while waiting rejects with the reason at once and gives the slot back', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(1, { signal: controller.signal });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    // The aborted reservation was the tail: the next caller gets its slot (1 s), not 2 s.
    expect((await limiter.tryAcquire()).retryAfterMs).toBe(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad configuration with a typed error naming the field', () => {
    expect(() => gcra({ key: 'k', limit: -1, periodMs: 1000 })).toThrow(InvalidLimiterConfigError);
    expect(() => gcra({ key: 'k', limit: 5, periodMs: Number.NaN })).toThrow(/periodMs/);
    expect(() => gcra({ key: 'k', limit: 5, periodMs: 1000, burst: 0 })).toThrow(/burst/);
    expect(() => tokenBucket({ key: 'k', capacity: 10, refillPerSecond: 0 })).toThrow(
      /refillPerSecond/,
    );
    expect(() => tokenBucket({ key: 'k', capacity: 1.5, refillPerSecond: 1 })).toThrow(/capacity/);
  });

  it('refuses a cost above burst at acquire time instead of waiting forever', async () => {
    const limiter = gcra({ key: 'k', limit: 5, periodMs: 1000, burst: 5 });
    await expect(limiter.acquire(6)).rejects.toBeInstanceOf(CostExceedsCapacityError);
    await expect(limiter.acquire(1.5)).rejects.toBeInstanceOf(InvalidLimiterConfigError);
    await expect(limiter.tryAcquire(-1)).rejects.toBeInstanceOf(InvalidLimiterConfigError);
  });
});

describe('limiterGroup', () => {
  it('charges nothing when any member refuses', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const rpm = gcra({ key: 'rpm', limit: 50, periodMs: 60_000, store, clock });
    const otpm = gcra({ key: 'otpm', limit: 8000, periodMs: 60_000, store, clock });
    const group = limiterGroup([rpm, otpm]);
    expect((await group.tryAcquire([1, 8000])).allowed).toBe(true);
    const refused = await group.tryAcquire([1, 100]);
    expect(refused.allowed).toBe(false);
    expect((await rpm.inspect()).available).toBe(49);
  });

  it('settle refunds unused output tokens', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const rpm = gcra({ key: 'rpm', limit: 50, periodMs: 60_000, store, clock });
    const otpm = gcra({ key: 'otpm', limit: 8000, periodMs: 60_000, store, clock });
    const permit = await limiterGroup([rpm, otpm]).acquire([1, 4000]);
    expect((await otpm.inspect()).available).toBe(4000);
    await permit.settle([1, 300]);
    expect((await otpm.inspect()).available).toBe(7700);
  });
});

describe('edge cases', () => {
  it('cost 0 is a pure look: it answers but takes nothing', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 2, periodMs: 1000, burst: 2, clock });
    expect((await limiter.tryAcquire(0)).allowed).toBe(true);
    expect((await limiter.inspect()).available).toBe(2);
    await limiter.tryAcquire(2);
    const look = await limiter.tryAcquire(0);
    expect(look.allowed).toBe(true);
    expect(look.remaining).toBe(0);
    expect((await limiter.inspect()).available).toBe(0);
  });

  it('hold: no slot before the time, then the limiter refills from empty', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 10, periodMs: 1000, burst: 5, clock });
    await limiter.holdFor(2000);
    const refused = await limiter.tryAcquire(1);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(2100);
    await clock.advance(2100);
    expect((await limiter.tryAcquire(1)).allowed).toBe(true);
    expect((await limiter.tryAcquire(1)).allowed).toBe(false);
  });

  it('a token bucket with a fractional refill rate paces exactly', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 0.25, clock });
    expect((await bucket.tryAcquire()).allowed).toBe(true);
    expect((await bucket.tryAcquire()).retryAfterMs).toBe(4000);
  });

  it('a group refuses the same key twice, or no limiter', () => {
    const a = gcra({ key: 'a', limit: 1, periodMs: 1000 });
    expect(() => limiterGroup([a, a])).toThrow(/distinct keys/);
    expect(() => limiterGroup([])).toThrow(InvalidLimiterConfigError);
  });

  it('a permit settles or cancels once; later calls do nothing', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 10, periodMs: 1000, burst: 10, clock });
    const permit = await limiter.acquire(4);
    await permit.cancel();
    await permit.cancel();
    await permit.settle(10);
    expect((await limiter.inspect()).available).toBe(10);
  });

  it('a refund to an earlier grant gives back what no later call stands on', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 100, periodMs: 1000, burst: 100, clock });
    const first = await limiter.acquire(50);
    const second = await limiter.acquire(30);
    // Counted at settled cost from their start, only the second call (30) remains: 70 free.
    await first.settle(0);
    expect((await limiter.inspect()).available).toBe(70);
    await second.settle(10);
    expect((await limiter.inspect()).available).toBe(90);
  });

  it('a refund cannot free schedule that a later call needed: the bucket was full then', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 100, periodMs: 1000, burst: 100, clock });
    const early = await limiter.acquire(60);
    await clock.advance(1000); // full again: the next call stands on nothing early freed
    const late = await limiter.acquire(100);
    await early.settle(0);
    expect((await limiter.inspect()).available).toBe(0);
    await late.cancel();
    expect((await limiter.inspect()).available).toBe(100);
  });
});
