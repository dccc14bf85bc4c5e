/**
 * MemoryStore drops idle, full keys (once it holds 4096+ keys), and a fresh key numbers its grants
 * from the clock (`nextSeq`), so that an old permit never matches the new life. Acquire/cancel
 * pairs advance the sequence by one each without moving the schedule, so an old life's sequence
 * can run ahead of the clock: its permits must still not refund the new life's latest grant,
 * which would give back capacity the new grant is using.
 */
import { describe, expect, it } from 'vitest';
import { gcra, MemoryStore, type Permit } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('MemoryStore sweep and old permits', () => {
  it("a permit from before a key was swept cannot refund the new life's grant", async () => {
    const clock = new ManualClock(1000); // 1e6 µs
    const store = new MemoryStore();
    // One unit per ms, burst 1: T = 1000 µs.
    const k = gcra({ key: 'k', limit: 1, periodMs: 1, burst: 1, store, clock });
    const take = async (): Promise<Permit> => {
      const decision = await k.tryAcquire();
      expect(decision.allowed).toBe(true);
      return decision.permit!;
    };
    // Old life: 2000 grants given straight back (seq runs 2000 ahead), then one kept open.
    for (let i = 0; i < 2000; i++) await (await take()).cancel();
    const old = await take();
    // The key refills; many other keys get the store to sweep it.
    await clock.advance(1);
    for (let i = 0; i < 6200; i++) {
      await gcra({ key: `other-${i}`, limit: 1, periodMs: 1, burst: 1, store, clock }).tryAcquire();
    }
    // New life of the key at the same instant: its grants count up to the old permit's number.
    for (let i = 0; i < 1000; i++) await (await take()).cancel();
    await take(); // runs now, burst 1: nothing more fits until 1 ms later
    await old.cancel(); // a late cancel of the old call must not free the new call's slot
    expect((await k.tryAcquire()).allowed).toBe(false);

    // Once the clock has passed the old numbers, idle keys (this one included) are swept again.
    await clock.advance(10);
    const before = store.size;
    for (let i = 0; i < 4096; i++) await k.tryAcquire(0); // pure looks still count towards a sweep
    expect(before).toBeGreaterThan(6000);
    expect(store.size).toBeLessThan(10);
  });
});
