/**
 * A caller woken inside a hold gives its slot back before queueing again. An abort that comes
 * while that slot is being given back must end the call with the signal's reason, not with
 * whatever the next reservation says.
 */
import { describe, expect, it } from 'vitest';
import { gcra, MemoryStore } from '../../src/index.js';
import type { Store } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { AwaitedStore } from '../support/stores.js';

/** A store whose refunds run a hook first (an abort arriving during the round trip). */
class HookedStore extends MemoryStore {
  onRefund: (() => void) | undefined;
  reserves = 0;
  override refund(...args: Parameters<MemoryStore['refund']>): Promise<void> {
    this.onRefund?.();
    return super.refund(...args);
  }
  override reserveSync(...args: Parameters<MemoryStore['reserveSync']>) {
    this.reserves++;
    return super.reserveSync(...args);
  }
}

describe('abort while a slot inside a hold is given back', () => {
  it('rejects with the reason and reserves nothing more', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new HookedStore();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock, store });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter
      .acquire(1, { signal: controller.signal, maxWaitMs: 3000 })
      .catch((e: unknown) => e);
    await limiter.holdFor(10_000);
    const reason = new Error('user left');
    store.onRefund = () => controller.abort(reason);
    const reservesBefore = store.reserves;
    await clock.advance(2000); // wakes at 1 s inside the hold, gives its slot back
    expect(await waiting).toBe(reason);
    expect(store.reserves).toBe(reservesBefore);
  });
});

/** A store whose refunds never answer (a store that went away mid-call). */
class StuckRefundStore extends MemoryStore {
  override refund(): Promise<void> {
    return new Promise<void>(() => {});
  }
}

/** A store (not in process) whose reservations answer only when told, refusing. */
class SlowRefusingStore extends AwaitedStore {
  answer: (() => void) | undefined;
  override reserve(): ReturnType<Store['reserve']> {
    return new Promise((resolve) => {
      this.answer = () =>
        resolve({ granted: false, waitUs: 5_000_000, index: 0, freeUs: 0, fifoUs: 0 });
    });
  }
}

describe('abort is heard at once around a hold and a reservation', () => {
  it('a give-back that never answers does not keep an aborted caller waiting', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new StuckRefundStore();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock, store });
    await limiter.acquire();
    const controller = new AbortController();
    let outcome: unknown = 'pending';
    void limiter.acquire(1, { signal: controller.signal }).then(
      () => {
        outcome = 'started';
      },
      (e: unknown) => {
        outcome = e;
      },
    );
    await limiter.holdFor(10_000);
    await clock.advance(2000); // woke inside the hold; its give-back never answers
    const reason = new Error('user left');
    controller.abort(reason);
    await clock.advance(1);
    expect(outcome).toBe(reason);
  });

  it('an abort during the reservation round trip wins over the store refusing', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new SlowRefusingStore();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock, store });
    const controller = new AbortController();
    const call = limiter.acquire(1, { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(0);
    const reason = new Error('user left');
    controller.abort(reason);
    store.answer?.();
    expect(await call).toBe(reason);
  });
});
