/**
 * Driving a ManualClock while a store answers over the network. The limiter counts a wait from
 * when the store answered, so the clock must stand still during a reservation's round trip:
 * these move it only once the call waits on a clock timer, and never past the time asked for.
 */
import type { ManualClock } from '../../src/testing/index.js';
import { sleep } from './real-time.js';

/** Tracks whether `call` has settled, without handling its outcome for the caller. */
function watch(call: Promise<unknown>): () => boolean {
  let settled = false;
  const done = () => {
    settled = true;
  };
  void call.then(done, done);
  return () => settled;
}

/**
 * Waits in real time until `call` has its reservation (it waits on a clock timer) or is over.
 * The clock must not move before: a wait counts from when the store answered.
 */
async function reserved(clock: ManualClock, settled: () => boolean): Promise<void> {
  while (clock.pendingTimers === 0 && !settled()) await sleep(1);
}

/** Awaits `call` with the clock moved to `atMs` and no further: time stands still meanwhile. */
export async function settledAt<T>(clock: ManualClock, call: Promise<T>, atMs: number): Promise<T> {
  const settled = watch(call);
  await reserved(clock, settled);
  while (!settled()) {
    await clock.advanceTo(atMs);
    if (!settled()) await sleep(1);
  }
  return call;
}

/** Whether `call` is still waiting with the clock at `atMs`, once its round trips could land. */
export async function waitingAt(clock: ManualClock, call: Promise<unknown>, atMs: number) {
  const settled = watch(call);
  await reserved(clock, settled);
  for (let i = 0; i < 5 && !settled(); i++) {
    await clock.advanceTo(atMs);
    await sleep(10);
  }
  return !settled();
}
