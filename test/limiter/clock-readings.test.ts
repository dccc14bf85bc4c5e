/**
 * The token-bucket math under unusual clock readings (a reading of 0, a clock stepping back)
 * admits no more than GCRA with the same parameters. Its Lua mirror (stores/redis/lua/math.ts)
 * is held to it by the differential test.
 *
 * For the token bucket, "never used" is seq 0 with last 0, not `last === 0` alone: a grant at
 * nowUs = 0 must not leave the bucket looking full (unlimited admissions). And its state is never
 * read before `last`: a clock stepping back must not count the refill up to `last` twice.
 */
import { describe, expect, it } from 'vitest';
import { gcra, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

/** One unit a second, burst 1. */
const limiters = {
  GCRA: (clock: ManualClock) => gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock }),
  'a token bucket': (clock: ManualClock) =>
    tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 1, clock }),
};

describe('clock readings the math does not expect', () => {
  for (const [name, make] of Object.entries(limiters)) {
    it(`${name} admits one unit at clock 0 (burst 1)`, async () => {
      const limiter = make(new ManualClock(0));
      expect((await limiter.tryAcquire()).allowed).toBe(true);
      expect((await limiter.tryAcquire()).allowed).toBe(false);
    });

    it(`${name}: a clock stepping back 1 s does not put two units at one instant (burst 1)`, async () => {
      const clock = new ManualClock(10_000);
      const limiter = make(clock);
      const first = await limiter.tryAcquire();
      expect(first.permit?.startsAt).toBe(10_000);
      clock.set(9_000);
      const second = limiter.acquire();
      await clock.advance(5_000);
      expect((await second).startsAt).toBeGreaterThanOrEqual(11_000);
    });
  }
});
