/**
 * An abort while waiting ends the call with the signal's reason (API.md), at once, whatever the
 * store is doing meanwhile: giving the reservation back (failing, or never answering), answering
 * a reservation, or looking for a hold at wake-up. Retry policies treat a cancellation apart from
 * a store's error, so the store's answer must not win. What the call reserved is given back, on
 * every member of a group.
 */
import { describe, expect, it } from 'vitest';
import {
  gcra,
  LimiterUnavailableError,
  limiterGroup,
  MemoryStore,
  tokenBucket,
} from '../../src/index.js';
import type { Grant, LimiterSpec, Store } from '../../src/limiter/store.js';
import { ManualClock } from '../../src/testing/index.js';
import { AwaitedStore } from '../support/stores.js';

/** Reserves in memory but cannot give anything back, like a store whose server just went away. */
class RefundFailsStore extends MemoryStore {
  override refund(_spec: LimiterSpec, _grant: Grant, _refundUs: number): Promise<void> {
    return Promise.reject(new LimiterUnavailableError('store down'));
  }
}

/** A store whose refunds never answer (a command queued while the server is away). */
class StuckRefundStore extends MemoryStore {
  override refund(): Promise<void> {
    return new Promise<void>(() => {});
  }
}

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

/** A store (not in process) whose looks answer only when told, with an error. */
class FailingLookStore extends AwaitedStore {
  answer: (() => void) | undefined;
  override look(): ReturnType<Store['look']> {
    return new Promise((_, reject) => {
      this.answer = () => reject(new Error('WRONGTYPE Operation against a key'));
    });
  }
}

const T0 = 1_700_000_000_000;

/** One unit a second, burst 1, on `store`. */
const oneASecond = (clock: ManualClock, store: Store) =>
  gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock, store });

describe('abort while waiting, when giving the reservation back goes wrong', () => {
  it('rejects with the abort reason even when giving the reservation back fails', async () => {
    const clock = new ManualClock();
    const limiter = oneASecond(clock, new RefundFailsStore());
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
    const limiter = oneASecond(clock, new StuckRefundStore());
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

describe('abort around a hold and the store round trips', () => {
  // A caller woken inside a hold gives its slot back before queueing again.
  it('while a slot inside a hold is given back: rejects with the reason and reserves nothing more', async () => {
    const clock = new ManualClock(T0);
    const store = new HookedStore();
    const limiter = oneASecond(clock, store);
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

  it('a give-back that never answers does not keep an aborted caller waiting', async () => {
    const clock = new ManualClock(T0);
    const limiter = oneASecond(clock, new StuckRefundStore());
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
    const clock = new ManualClock(T0);
    const store = new SlowRefusingStore();
    const limiter = oneASecond(clock, store);
    const controller = new AbortController();
    const call = limiter.acquire(1, { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(0);
    const reason = new Error('user left');
    controller.abort(reason);
    store.answer?.();
    expect(await call).toBe(reason);
  });

  // At its slot, a caller asks the store whether a hold covers it (a round trip on a shared
  // store); whatever the answer, an error included, the abort is what the caller hears.
  it('an abort during the look for a hold at wake-up wins over the store failing', async () => {
    const clock = new ManualClock(T0);
    const store = new FailingLookStore();
    const limiter = oneASecond(clock, store);
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

  // The rpm member had 59 units free; the aborted call waited on otpm (60 s), so rpm was charged
  // at start = now + 60 s. Refunding only the cost would leave rpm empty although nothing ran: a
  // grant records the span it moved each member's schedule (cost + the idle gap up to the common
  // start), and a cancel gives the whole span back.
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
