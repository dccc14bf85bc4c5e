/**
 * Review findings on the token-bucket math under unusual clock readings: both over-admitted where
 * GCRA with the same parameters did not. Fixed in token-bucket.ts and its Lua mirror
 * (lua/math.ts); the differential test holds the two equal.
 */
import { describe, expect, it } from 'vitest';
import { gcra, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('token bucket: clock readings the math does not expect', () => {
  it('GCRA admits one unit at clock 0 (burst 1)', async () => {
    const clock = new ManualClock(0);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    expect((await limiter.tryAcquire()).allowed).toBe(false);
  });

  // Found in review: `last === 0` was the "never used" sentinel, so a grant at nowUs = 0 left the
  // bucket looking full: unlimited admissions. The sentinel is now seq 0 with last 0.
  it('a token bucket admits one unit at clock 0 (burst 1)', async () => {
    const clock = new ManualClock(0);
    const bucket = tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 1, clock });
    expect((await bucket.tryAcquire()).allowed).toBe(true);
    expect((await bucket.tryAcquire()).allowed).toBe(false);
  });

  it('GCRA: a clock stepping back 1 s does not put two units at one instant (burst 1)', async () => {
    const clock = new ManualClock(10_000);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    const first = await limiter.tryAcquire();
    expect(first.permit?.startsAt).toBe(10_000);
    clock.set(9_000);
    const second = limiter.acquire();
    await clock.advance(5_000);
    expect((await second).startsAt).toBeGreaterThanOrEqual(11_000);
  });

  // Found in review: a clock stepping back made the refill up to `last` count twice. The state is
  // now never read before `last`.
  it('a token bucket: a clock stepping back 1 s does not put two units at one instant', async () => {
    const clock = new ManualClock(10_000);
    const bucket = tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 1, clock });
    const first = await bucket.tryAcquire();
    expect(first.permit?.startsAt).toBe(10_000);
    clock.set(9_000);
    const second = bucket.acquire();
    await clock.advance(5_000);
    expect((await second).startsAt).toBeGreaterThanOrEqual(11_000);
  });
});
