/**
 * The system clock reads the global `performance` on every call, so fake timers that replace it
 * (vitest's useFakeTimers does by default) move the limiters' time too: a wait on the system
 * clock ends when the fake time is advanced.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { gcra } from '../../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the system clock under fake timers', () => {
  it('keeps the global performance object it found, now a plain property', () => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'performance');
    // The clock's module stored the object Node's lazy getter gave: the same one, and it works.
    expect(descriptor?.get).toBeUndefined();
    expect(descriptor?.value).toBe(performance);
    expect(descriptor?.writable).toBe(true);
    expect(systemClock.now() - performance.timeOrigin).toBeCloseTo(performance.now(), -1);
  });

  it('advances with the faked performance clock', () => {
    vi.useFakeTimers();
    const before = systemClock.now();
    vi.advanceTimersByTime(60_000);
    expect(systemClock.now() - before).toBe(60_000);
  });

  it('lets a limiter wait end when the fake time is advanced', async () => {
    vi.useFakeTimers();
    const limiter = gcra({ key: 'fake-timers', limit: 1, periodMs: 10_000, burst: 1 });
    await limiter.acquire();
    let started = false;
    void limiter.acquire().then(() => {
      started = true;
    });
    await vi.advanceTimersByTimeAsync(9_000);
    expect(started).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toBe(true);
  });
});
