/**
 * inspect() and tryAcquire() report no more units available than `burst`, the most ever admitted
 * at once, even with an emission interval under 1 µs (above 1M units/s, e.g. 150M TPM), where the
 * capacity rounded up to whole µs holds more units than `burst`.
 */
import { describe, expect, it } from 'vitest';
import { gcra, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('available and remaining never exceed burst', () => {
  it('gcra at 150M per minute, burst 999 (T = 0.4 µs)', async () => {
    const clock = new ManualClock();
    const tpm = gcra({ key: 'tpm', limit: 150_000_000, periodMs: 60_000, burst: 999, clock });
    expect((await tpm.inspect()).available).toBe(999);
    const look = await tpm.tryAcquire(0);
    expect(look.remaining).toBe(999);
    // What inspect promised is what is admitted, and one more is not.
    expect((await tpm.tryAcquire(999)).allowed).toBe(true);
    expect((await tpm.tryAcquire(1)).allowed).toBe(false);
  });

  it('token bucket at 3M per second, capacity 1', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ key: 'k', capacity: 1, refillPerSecond: 3_000_000, clock });
    expect((await bucket.inspect()).available).toBe(1);
    expect((await bucket.tryAcquire(0)).remaining).toBe(1);
  });
});
