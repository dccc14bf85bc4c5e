/**
 * Review finding: a group reservation whose start was pushed out by another member is not given
 * back on abort/cancel. Each member is charged at the common start (max(tat, start) + cost), and
 * the refund only subtracts the cost, so the member's schedule stays pushed to the start time.
 */
import { describe, expect, it } from 'vitest';
import { gcra, limiterGroup, MemoryStore, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('limiterGroup: abort gives every member its reservation back', () => {
  it('the binding member gets its reservation back', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, store, clock });
    const otpm = gcra({ key: 'otpm', limit: 1000, periodMs: 60_000, store, clock });
    const group = limiterGroup([rpm, otpm]);
    await group.acquire([1, 500]);
    const controller = new AbortController();
    const waiting = group.acquire([1, 1000], { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect((await otpm.inspect()).available).toBe(500);
  });

  // Found in review: the rpm member had 59 units free; the aborted call waited on otpm (60 s),
  // so rpm was charged at start = now + 60 s. Refunding only the cost left rpm empty although
  // nothing ran. A grant now records the span it moved each member's schedule (cost + the idle
  // gap up to the common start), and a cancel gives the whole span back.
  for (const algorithm of ['gcra', 'token-bucket'] as const) {
    it(`the other members get theirs back too (${algorithm} rpm)`, async () => {
      const clock = new ManualClock();
      const store = new MemoryStore();
      const rpm =
        algorithm === 'gcra'
          ? gcra({ key: 'rpm', limit: 60, periodMs: 60_000, store, clock })
          : tokenBucket({ key: 'rpm', capacity: 60, refillPerSecond: 1, store, clock });
      const otpm = gcra({ key: 'otpm', limit: 1000, periodMs: 60_000, store, clock });
      const group = limiterGroup([rpm, otpm]);
      await group.acquire([1, 1000]);
      expect((await rpm.inspect()).available).toBe(59);
      const controller = new AbortController();
      const waiting = group.acquire([1, 1000], { signal: controller.signal });
      controller.abort(new Error('stop'));
      await expect(waiting).rejects.toThrow('stop');
      expect((await rpm.inspect()).available).toBe(59);
      expect((await rpm.tryAcquire()).allowed).toBe(true);
    });
  }
});
