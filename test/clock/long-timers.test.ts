/**
 * Platform timers hold delays up to 2^31 - 1 ms (24.8 days); a longer one fires after 1 ms. A
 * long hold or a slow limit can ask for more: the wait must still end on time, not spin.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scheduleOn, sleep, systemClock } from '../../src/clock.js';
import { gcra } from '../../src/index.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

afterEach(() => {
  vi.useRealTimers();
});

describe('waits longer than a platform timer can hold', () => {
  it('scheduleOn fires once, at the delay, not after 1 ms', async () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    scheduleOn(systemClock, fired, MAX_TIMER_MS + 5000);
    await vi.advanceTimersByTimeAsync(10);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(5000);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('scheduleOn can be cancelled in either part of a long delay', async () => {
    vi.useFakeTimers();
    const first = vi.fn();
    scheduleOn(systemClock, first, MAX_TIMER_MS + 5000)();
    const second = vi.fn();
    const cancel = scheduleOn(systemClock, second, MAX_TIMER_MS + 5000);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1);
    cancel();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(first).not.toHaveBeenCalled();
    expect(second).not.toHaveBeenCalled();
  });

  it('sleep of 30 days resolves after 30 days', async () => {
    vi.useFakeTimers();
    const days30 = 30 * 24 * 3600 * 1000;
    let done = false;
    void sleep(systemClock, days30).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(days30 - 1000);
    expect(done).toBe(true);
  });

  it('a caller behind a 30-day hold waits on a few timers, not one per millisecond', async () => {
    vi.useFakeTimers();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1 });
    await limiter.holdFor(30 * 24 * 3600 * 1000);
    let started = false;
    void limiter.acquire().then(() => {
      started = true;
    });
    await vi.advanceTimersByTimeAsync(1);
    const timers = vi.spyOn(globalThis, 'setTimeout');
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toBe(false);
    // The long wait is armed once, not re-armed every millisecond.
    expect(timers.mock.calls.length).toBeLessThanOrEqual(1);
  });
});
