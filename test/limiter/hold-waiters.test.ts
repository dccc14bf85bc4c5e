/**
 * `hold(untilMs)` promises that no call on the key starts before then: calls reserved after the
 * hold are scheduled behind it, and callers already waiting when it comes (their slots were
 * reserved before the provider's 429) learn of it when they wake and queue again.
 */
import { describe, expect, it } from 'vitest';
import {
  gcra,
  limiterGroup,
  MemoryStore,
  RateLimitExceededError,
  tokenBucket,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

const T0 = 1_700_000_000_000;

/** Start times (ms from T0) of calls, in the order they started. */
function recorder(clock: ManualClock) {
  const started: Array<[string, number]> = [];
  return {
    started,
    track<T>(name: string, call: Promise<T>): Promise<T> {
      return call.then((value) => {
        started.push([name, clock.now() - T0]);
        return value;
      });
    },
  };
}

describe('hold and callers already waiting', () => {
  it('a reservation made after the hold starts after it', async () => {
    const clock = new ManualClock(T0);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    await limiter.holdFor(5000);
    const next = limiter.acquire();
    await clock.advance(10_000);
    expect((await next).startsAt - T0).toBeGreaterThanOrEqual(5000);
  });

  it('a caller already waiting does not start inside a later hold', async () => {
    const clock = new ManualClock(T0);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const { started, track } = recorder(clock);
    const waiting = track('w', limiter.acquire()); // reserved for t = 1 s
    expect((await limiter.inspect()).heldForMs).toBe(0);
    await limiter.holdFor(5000); // the provider answered 429, Retry-After: 5
    expect((await limiter.inspect()).heldForMs).toBe(5000);
    await clock.advance(2000);
    expect((await limiter.inspect()).heldForMs).toBe(3000);
    await clock.advance(8000);
    expect((await limiter.inspect()).heldForMs).toBe(0);
    const permit = await waiting;
    expect(started).toEqual([['w', 6000]]);
    // Its permit tells the whole wait, from the first reservation.
    expect(permit.startsAt - T0).toBe(6000);
    expect(permit.waitedMs).toBe(6000);
  });

  it('a queue of waiters does not start inside the hold, nor all at once at its end', async () => {
    const clock = new ManualClock(T0);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const { started, track } = recorder(clock);
    const calls = ['a', 'b', 'c', 'd'].map((name) => track(name, limiter.acquire()));
    await clock.advance(500);
    await limiter.holdFor(5000); // until t = 5.5 s; slots 1..4 s were reserved before it
    await clock.advance(20_000);
    await Promise.all(calls);
    // Paced at the limit from an empty bucket at the hold's end, in their original order.
    expect(started).toEqual([
      ['a', 6500],
      ['b', 7500],
      ['c', 8500],
      ['d', 9500],
    ]);
  });

  it('callers whose slots are after the hold keep them', async () => {
    const clock = new ManualClock(T0);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const { started, track } = recorder(clock);
    const calls = ['a', 'b', 'c', 'd'].map((name) => track(name, limiter.acquire()));
    await clock.advance(500);
    // Until t = 2.5 s: the schedule already runs to 5 s, so the hold does not move it; the slots
    // at 1 and 2 s are inside the hold and queue again, at the back.
    await limiter.holdFor(2000);
    await clock.advance(20_000);
    await Promise.all(calls);
    expect(started).toEqual([
      ['c', 3000],
      ['d', 4000],
      ['a', 5000],
      ['b', 6000],
    ]);
    expect(started.every(([, at]) => at >= 2500)).toBe(true);
  });

  it('a group queues again when any member it is charged on is held, not for a member at cost 0', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 1, clock, store });
    const otpm = tokenBucket({ key: 'otpm', capacity: 1000, refillPerSecond: 1000, clock, store });
    const group = limiterGroup([rpm, otpm]);
    await group.acquire([1, 0]);
    const { started, track } = recorder(clock);
    // Both wait for the next RPM slot, at 1 s; only the first is charged on OTPM.
    const charged = track('charged', group.acquire([1, 500]));
    const free = track('free', group.acquire([1, 0]));
    await otpm.holdFor(1500); // a 429 on output tokens
    await clock.advance(10_000);
    await Promise.all([charged, free]);
    // 'free' keeps its RPM slot at 2 s; 'charged' woke inside the OTPM hold at 1 s and queued
    // again: behind 'free' on RPM (3 s), and after the OTPM hold's end plus its cost.
    expect(started).toEqual([
      ['free', 2000],
      ['charged', 3000],
    ]);
  });

  it('a caller queued again past its maxWaitMs is refused with RateLimitExceededError', async () => {
    const clock = new ManualClock(T0);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const waiting = limiter.acquire(1, { maxWaitMs: 3000 }).catch((e: unknown) => e);
    await limiter.holdFor(10_000);
    await clock.advance(20_000);
    const error = await waiting;
    expect(error).toBeInstanceOf(RateLimitExceededError);
    // Nothing is left reserved for it: the next caller is not pushed back by it.
    const next = (await limiter.inspect()).retryAfterMs;
    await clock.advance(next);
    expect((await limiter.tryAcquire()).allowed).toBe(true);
  });

  it('abort while queued again rejects with the reason', async () => {
    const clock = new ManualClock(T0);
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(1, { signal: controller.signal }).catch((e: unknown) => e);
    await limiter.holdFor(5000);
    await clock.advance(2000); // woke at 1 s, queued again for 6 s
    const reason = new Error('user left');
    controller.abort(reason);
    expect(await waiting).toBe(reason);
  });
});
