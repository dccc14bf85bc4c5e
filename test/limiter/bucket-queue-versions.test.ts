/**
 * Shift versions of a key are numbered from the clock when the key is fresh, as its ticket
 * numbers are: a key that was dropped (idle in memory, expired in Redis) and comes back must not
 * reuse the versions of its earlier life, which waiters (and a budget's recent shifts) still hold.
 */
import { describe, expect, it } from 'vitest';
import { BucketQueue, shiftedStart } from '../../src/limiter/bucket-queue.js';

describe('a bucket queue key that comes back fresh', () => {
  it('numbers its shift versions past those of its earlier life', () => {
    const cap = 1_000;
    // Earlier life at t0: one call started, one waits, a refund shifts it (version v1).
    const t0 = 5_000_000;
    const s = new BucketQueue();
    s.reserve(t0, cap, true);
    s.reserve(t0, cap, false);
    const shift = s.refund(t0, 500);
    expect(shift).toBeDefined();
    const oldVersion = shift!.version;
    // The key is dropped; a new life starts later, with a waiter again.
    const t1 = t0 + 1_000;
    const n = new BucketQueue();
    n.reserve(t1, cap, true);
    const waiting = n.reserve(t1, cap, false);
    // A waiter of the new life holds this version: a stale shift of the old life must not
    // look like its next one.
    expect(n.version).toBeGreaterThanOrEqual(oldVersion);
    expect(oldVersion).not.toBe(n.version + 1);
    const versionBefore = n.version;
    const next = n.refund(t1, 500)!;
    expect(next.version).toBe(versionBefore + 1);
    expect(shiftedStart(0, waiting, next)).toBe(-500);
  });
});
