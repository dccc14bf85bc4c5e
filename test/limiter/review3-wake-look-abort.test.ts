/**
 * A caller that wakes at its slot asks the store whether a hold covers it (a round trip on a
 * shared store). An abort that comes while the store answers is what the caller hears, whatever
 * the answer (docs/limiter.md), an error included, as for the reservation's round trip.
 */
import { describe, expect, it } from 'vitest';
import { gcra } from '../../src/index.js';
import type { Store } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { AwaitedStore } from '../support/stores.js';

/** A store (not in process) whose looks answer only when told, with an error. */
class FailingLookStore extends AwaitedStore {
  answer: (() => void) | undefined;
  override look(): ReturnType<Store['look']> {
    return new Promise((_, reject) => {
      this.answer = () => reject(new Error('WRONGTYPE Operation against a key'));
    });
  }
}

describe('abort during the look for a hold at wake-up', () => {
  it('wins over the store failing', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new FailingLookStore();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock, store });
    await limiter.acquire();
    const controller = new AbortController();
    const call = limiter.acquire(1, { signal: controller.signal }).catch((e: unknown) => e);
    while (store.answer === undefined) await clock.advance(100); // wakes at 1 s, looks
    const reason = new Error('user left');
    controller.abort(reason);
    store.answer();
    expect(await call).toBe(reason);
  });
});
