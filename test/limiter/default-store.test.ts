/**
 * Limiters made without a `store` share one in-process store (per clock), so they group as
 * written and one key is one budget.
 */
import { describe, expect, it } from 'vitest';
import {
  gcra,
  InvalidArgumentError,
  limiterGroup,
  MemoryStore,
  tokenBucket,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('limiters without a store', () => {
  it('form a group as written, acquired all or nothing', async () => {
    const clock = new ManualClock(); // no refill between the calls, however slow the machine
    const rpm = gcra({ key: 'default-store:rpm', limit: 50, periodMs: 60_000, clock });
    const otpm = gcra({ key: 'default-store:otpm', limit: 1000, periodMs: 60_000, clock });
    expect(rpm.store).toBe(otpm.store);
    const group = limiterGroup([rpm, otpm]);
    const taken = await group.tryAcquire([1, 1000]);
    expect(taken.allowed).toBe(true);
    const refused = await group.tryAcquire([1, 1]);
    expect(refused.allowed).toBe(false); // otpm is empty...
    expect((await rpm.inspect()).available).toBe(49); // ...so rpm was not charged
  });

  it('share one budget per key', async () => {
    const clock = new ManualClock();
    const a = gcra({ key: 'default-store:one', limit: 1, periodMs: 1000, clock });
    const b = gcra({ key: 'default-store:one', limit: 1, periodMs: 1000, clock });
    expect((await a.tryAcquire()).allowed).toBe(true);
    expect((await b.tryAcquire()).allowed).toBe(false);
  });

  it('on different clocks do not share: a schedule means nothing on another clock', async () => {
    const a = tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 1, clock: new ManualClock() });
    const b = tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 1, clock: new ManualClock() });
    expect(a.store).not.toBe(b.store);
    expect((await a.tryAcquire()).allowed).toBe(true);
    expect((await b.tryAcquire()).allowed).toBe(true);
  });

  it('a group over different clocks is refused, naming the clock', () => {
    const a = gcra({ key: 'a', limit: 1, periodMs: 1000, clock: new ManualClock() });
    const b = gcra({ key: 'b', limit: 1, periodMs: 1000, clock: new ManualClock() });
    expect(() => limiterGroup([a, b])).toThrow(InvalidArgumentError);
    expect(() => limiterGroup([a, b])).toThrow(/one clock/);
  });

  it('a group over limiters given different stores is refused', () => {
    const a = gcra({ key: 'a', limit: 1, periodMs: 1000, store: new MemoryStore() });
    const b = gcra({ key: 'b', limit: 1, periodMs: 1000, store: new MemoryStore() });
    expect(() => limiterGroup([a, b])).toThrow(/share one store/);
  });
});
