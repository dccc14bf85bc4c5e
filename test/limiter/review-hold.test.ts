/**
 * Review finding: `hold(untilMs)` is documented as "no slot starts before then", but callers
 * already queued keep their earlier reserved slots and start during the hold.
 */
import { describe, expect, it } from 'vitest';
import { gcra } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('hold and callers already waiting', () => {
  it('a reservation made after the hold starts after it', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    await limiter.holdFor(5000);
    const next = limiter.acquire();
    await clock.advance(10_000);
    expect((await next).startsAt - 1_700_000_000_000).toBeGreaterThanOrEqual(5000);
  });

  // GAP (not fixed: needs a design decision). The waiter reserved t = 1 s before the provider's
  // 429 put a 5 s hold on the key; it still wakes and starts at 1 s, inside the hold. With a
  // queue of N waiters, one 429 still becomes N requests during Retry-After. Fixing it means
  // waiters must learn of the hold (re-reserve on wake, or the store keeps a hold-until that a
  // woken waiter checks), for the Redis store as well.
  it.fails('a caller already waiting does not start inside a later hold', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const waiting = limiter.acquire(); // reserved for t = 1 s
    await limiter.holdFor(5000); // the provider answered 429, Retry-After: 5
    let startedAt = Number.NaN;
    void waiting.then(() => {
      startedAt = clock.now() - 1_700_000_000_000;
    });
    await clock.advance(10_000);
    await waiting;
    expect(startedAt).toBeGreaterThanOrEqual(5000);
  });
});
