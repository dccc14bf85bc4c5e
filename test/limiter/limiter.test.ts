import { describe, expect, it } from 'vitest';
import {
  CostExceedsCapacityError,
  gcra,
  InvalidLimiterConfigError,
  limiterGroup,
  MemoryStore,
  tokenBucket,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('gcra limiter', () => {
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

describe('edge cases', () => {
  it('a token bucket with a fractional refill rate paces exactly', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 0.25, clock });
    expect((await bucket.tryAcquire()).allowed).toBe(true);
    expect((await bucket.tryAcquire()).retryAfterMs).toBe(4000);
  });

  it('a group refuses limiters on different stores, or the same key twice', () => {
    const a = gcra({ key: 'a', limit: 1, periodMs: 1000, store: new MemoryStore() });
    const b = gcra({ key: 'b', limit: 1, periodMs: 1000, store: new MemoryStore() });
    expect(() => limiterGroup([a, b])).toThrow(/share one store/);
    expect(() => limiterGroup([a, a])).toThrow(/distinct keys/);
    expect(() => limiterGroup([])).toThrow(InvalidLimiterConfigError);
  });
});
