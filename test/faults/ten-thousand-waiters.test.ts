/**
 * 10,000 callers waiting at once on one in-memory Budget: the budget keeps one timer for all of
 * them, each costs a bounded amount of heap while it waits, and one abort rejects them all with
 * its reason, leaving no waiter and no timer behind. Prints the figures. Their FIFO starts at the
 * configured rate: many-waiters-at-rate-in-order.test.ts.
 */
import { expect, it } from 'vitest';
import { collector, heldBudget, timers } from './waiters.js';

const WAITERS = 10_000;

it('10,000 concurrent waiters: one timer, bounded heap, one abort ends them all', async () => {
  const gc = collector();
  // Nobody starts for 60 s: every waiter stays queued while it is measured.
  const { budget } = await heldBudget(500, 60_000);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const abort = new AbortController();
  const asked = performance.now();
  const outcomes = Array.from({ length: WAITERS }, () =>
    budget.acquire([1], { signal: abort.signal }).then(
      () => 'started',
      (error: unknown) => error,
    ),
  );
  for (let i = 0; i < 500 && budget.waiting < WAITERS; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const queuedMs = performance.now() - asked;
  const waiting = budget.waiting;
  gc();
  const heapWaiting = process.memoryUsage().heapUsed;
  const timersWaiting = timers();
  const abortedAt = performance.now();
  abort.abort(new Error('enough'));
  const settled = await Promise.all(outcomes);
  const abortMs = performance.now() - abortedAt;
  await new Promise((r) => setTimeout(r, 0));
  // Timers of the budget: those while waiting, less those left once nobody waits.
  const budgetTimers = timersWaiting - timers();
  const rejected = settled.filter((o) => o instanceof Error && o.message === 'enough').length;
  const bytesPerWaiter = (heapWaiting - heapBefore) / WAITERS;
  console.log(
    `[faults] ${WAITERS} waiters on one in-memory Budget: waiting ${waiting} after ${queuedMs.toFixed(0)} ms, ` +
      `heap ${(bytesPerWaiter / 1024).toFixed(2)} KiB per waiter, budget timers ${budgetTimers}, ` +
      `${rejected} rejected by one abort in ${abortMs.toFixed(0)} ms, waiting after ${budget.waiting}`,
  );
  expect(waiting).toBe(WAITERS);
  expect(budgetTimers).toBe(1);
  expect(rejected).toBe(WAITERS);
  expect(budget.waiting).toBe(0);
  // Against a quadratic cost (it took 3.5-9.6 s), not a timing test: the figure is printed.
  expect(queuedMs).toBeLessThan(5000);
  expect(abortMs).toBeLessThan(5000);
  // Generous: a waiter is a promise, a permit, a plan and a set entry.
  expect(bytesPerWaiter).toBeLessThan(4096);
});
