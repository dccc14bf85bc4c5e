/**
 * A Budget listens once per abort signal, however many of its callers share it (one listener per
 * caller made Node scan the signal's listeners for every one added: quadratic in the callers). An
 * abort rejects the callers of that signal only, with its reason, and gives their places back to
 * the callers behind; a signal whose callers have all gone keeps no listener of the budget.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Budget } from '../../src/limiter/budget.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { ManualClock } from '../../src/testing/index.js';

function setup() {
  const clock = new ManualClock(1_000_000);
  const budget = new Budget({
    // One start a second, nothing at once: every caller below waits.
    dimensions: [{ name: 'requests', key: 'k', limit: 1, periodMs: 1000, burst: 1 }],
    store: new MemoryBudgetStore(),
    clock,
  });
  return { clock, budget };
}

describe('callers sharing abort signals', () => {
  it('one listener per signal; an abort rejects its own callers, and the others move up', async () => {
    const { clock, budget } = setup();
    await budget.acquire([1]); // the bucket is empty now
    const a = new AbortController();
    const b = new AbortController();
    const order: string[] = [];
    const calls = ['a1', 'b1', 'a2', 'b2', 'a3'].map((name) =>
      budget.acquire([1], { signal: (name.startsWith('a') ? a : b).signal }).then(
        () => order.push(name),
        (error: unknown) => order.push(`${name}: ${(error as Error).message}`),
      ),
    );
    await clock.advance(0);
    expect(budget.waiting).toBe(5);
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(b.signal, 'abort')).toHaveLength(1);
    a.abort(new Error('a gone'));
    await clock.advance(0);
    expect(budget.waiting).toBe(2);
    // b1 and b2 took the first two places: a start a second from the first one.
    await clock.advance(2000);
    await Promise.all(calls);
    expect(order).toEqual(['a1: a gone', 'a2: a gone', 'a3: a gone', 'b1', 'b2']);
    expect(getEventListeners(b.signal, 'abort')).toHaveLength(0);
  });

  it('a long-lived signal keeps no listener once its callers have started', async () => {
    const { clock, budget } = setup();
    const shared = new AbortController();
    for (let i = 0; i < 3; i++) {
      const call = budget.acquire([1], { signal: shared.signal });
      await clock.advance(1000);
      await call;
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });
});
