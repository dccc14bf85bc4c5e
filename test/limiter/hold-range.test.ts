/**
 * A hold is refused when its delay is beyond the range the schedule keeps exact: accepting any
 * finite delay, holdFor(Number.MAX_VALUE) (a garbled Retry-After, say) would move the schedule to
 * Infinity, block the key for good, tell `retryAfterMs: Infinity` and make every later figure
 * inexact.
 */
import { describe, expect, it } from 'vitest';
import { gcra, InvalidLimiterConfigError, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('the range of a hold', () => {
  for (const delayMs of [Number.MAX_VALUE, 1e300, 1e13]) {
    it(`holdFor(${delayMs}) is refused and leaves the limiter as it was`, async () => {
      const clock = new ManualClock();
      const limiters = [
        gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock }),
        tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 1, clock }),
      ];
      for (const limiter of limiters) {
        await expect(limiter.holdFor(delayMs)).rejects.toBeInstanceOf(InvalidLimiterConfigError);
        await expect(limiter.hold(clock.now() + delayMs)).rejects.toBeInstanceOf(
          InvalidLimiterConfigError,
        );
        expect((await limiter.inspect()).available).toBe(1);
      }
    });
  }

  it('a long but sane hold (a day) is taken exactly', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.holdFor(86_400_000);
    expect((await limiter.tryAcquire()).retryAfterMs).toBe(86_401_000);
  });
});
