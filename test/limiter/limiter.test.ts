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
