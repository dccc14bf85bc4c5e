/**
 * Helpers of the fault tests that queue thousands of callers on one in-memory Budget: a budget
 * held shut while they queue, a full garbage collection (so heap figures measure what is live)
 * and the count of live timers.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Budget } from '../../src/limiter/budget.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';

/** A function that runs a full collection (V8's `gc`, exposed for this process). */
export function collector(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/** Timers alive in this process now. */
export const timers = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/**
 * One in-memory Budget of `rate` requests a second (burst 20) on its key 'requests', held so
 * that nobody starts for `holdMs`: every caller queues. `holdEndsAt` (performance.now() time) is
 * when the hold ends at the earliest: starts come from then on, whatever the caller did since.
 */
export async function heldBudget(
  rate: number,
  holdMs: number,
): Promise<{ budget: Budget; holdEndsAt: number }> {
  const budget = new Budget({
    dimensions: [
      { name: 'requests', key: 'faults:waiters', limit: rate, periodMs: 1000, burst: 20 },
    ],
    store: new MemoryBudgetStore(),
  });
  const holdEndsAt = performance.now() + holdMs;
  await budget.holdFor('requests', holdMs, 20);
  return { budget, holdEndsAt };
}
