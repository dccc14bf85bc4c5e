/**
 * Review finding: an abort while waiting must reject with the signal's reason (API.md). When
 * giving the reservation back failed (a store that is unreachable, as Redis can be), the caller
 * got the store's error instead, which retry policies treat differently from a cancellation.
 */
import { describe, expect, it } from 'vitest';
import { gcra, LimiterUnavailableError, MemoryStore } from '../../src/index.js';
import type { Grant, LimiterSpec } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';

/** Reserves in memory but cannot give anything back, like a store whose server just went away. */
class RefundFailsStore extends MemoryStore {
  override refund(_spec: LimiterSpec, _grant: Grant, _refundUs: number): Promise<void> {
    return Promise.reject(new LimiterUnavailableError('store down'));
  }
}

describe('abort while waiting', () => {
  it('rejects with the abort reason even when giving the reservation back fails', async () => {
    const clock = new ManualClock();
    const limiter = gcra({
      key: 'k',
      limit: 1,
      periodMs: 1000,
      burst: 1,
      clock,
      store: new RefundFailsStore(),
    });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(1, { signal: controller.signal });
    const reason = new Error('stop');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      controller.abort(reason);
      await expect(waiting).rejects.toBe(reason);
      await clock.advance(0);
    } finally {
      process.off('warning', onWarning);
    }
    expect(clock.pendingTimers).toBe(0);
    // The failed refund is not swallowed silently.
    expect(warnings.some((w) => w.includes('store down'))).toBe(true);
  });

  it('rejects at once even when giving the reservation back never completes', async () => {
    const clock = new ManualClock();
    const store = new (class extends MemoryStore {
      override refund(): Promise<void> {
        return new Promise<void>(() => {}); // a command queued while the server is away
      }
    })();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock, store });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(1, { signal: controller.signal });
    let outcome: unknown = 'pending';
    waiting.catch((e: unknown) => {
      outcome = e;
    });
    const reason = new Error('stop');
    controller.abort(reason);
    await clock.advance(0);
    expect(outcome).toBe(reason);
  });
});
