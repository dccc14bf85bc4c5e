/**
 * Review findings on the token-bucket math under unusual clock readings. Both over-admit; GCRA
 * with the same parameters does not. The fixes belong in token-bucket.ts (and its Lua mirror), so
 * they are left as `it.fails` here, for whoever changes the math.
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

  // BUG (not fixed: token-bucket.ts semantics). `last === 0` is the "never used" sentinel, but a
  // grant at nowUs = 0 (a clock reading 0 <= now < 0.001 ms, e.g. `new ManualClock(0)` or a
  // performance.now()-based clock) stores last = 0, so the next read sees a full bucket again:
  // unlimited admissions. Fix idea: use `seq === 0` as the sentinel (as nextSeq already does).
  it.fails('a token bucket admits one unit at clock 0 (burst 1)', async () => {
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

  // BUG (not fixed: token-bucket.ts semantics). Grant/refund/charge/hold store `last: nowUs`
  // even when now < last, so the refill between the earlier reading and `last` is counted twice.
  // After a 1 s backward step the bucket hands out a second unit for the same instant: burst 1,
  // two starts at t = 10 s. Fix idea: never move `last` backwards (treat now as max(now, last)).
  it.fails('a token bucket: a clock stepping back 1 s does not put two units at one instant', async () => {
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
