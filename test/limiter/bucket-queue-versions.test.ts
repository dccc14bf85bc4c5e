/**
 * Shift versions of a key are numbered from the clock when the key is fresh, as its ticket
 * numbers are: a key that was dropped (idle in memory, expired in Redis) and comes back must not
 * reuse the versions of its earlier life, which waiters (and a budget's recent shifts) still hold.
 */
import { describe, expect, it } from 'vitest';
import {
  initialBucketQueue,
  queueRefund,
  queueReserve,
  shiftedStart,
} from '../../src/limiter/bucket-queue.js';

describe('a bucket queue key that comes back fresh', () => {
  it('numbers its shift versions past those of its earlier life', () => {
    const cap = 1_000;
    // Earlier life at t0: one call started, one waits, a refund shifts it (version v1).
    const t0 = 5_000_000;
    let s = queueReserve(initialBucketQueue, t0, cap, true).state;
    s = queueReserve(s, t0, cap, false).state;
    const shift = queueRefund(s, t0, 500).shift;
    expect(shift).toBeDefined();
    const oldVersion = shift!.version;
    // The key is dropped; a new life starts later, with a waiter again.
    const t1 = t0 + 1_000;
    let n = queueReserve(initialBucketQueue, t1, cap, true).state;
    const waiting = queueReserve(n, t1, cap, false);
    n = waiting.state;
    // A waiter of the new life holds this version: a stale shift of the old life must not
    // look like its next one.
    expect(n.version).toBeGreaterThanOrEqual(oldVersion);
    expect(oldVersion).not.toBe(n.version + 1);
    const next = queueRefund(n, t1, 500).shift!;
    expect(next.version).toBe(n.version + 1);
    expect(shiftedStart(0, waiting.seq, next)).toBe(-500);
  });
});
