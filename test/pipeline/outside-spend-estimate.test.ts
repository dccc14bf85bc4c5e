/**
 * Another service spending the same organisation's quota shows as gaps: the shared budget,
 * brought down to the provider's last `remaining` figure, stands above the next one by what the
 * other spent meanwhile. The feedback keeps an estimate of that gap and lowers the budget to each
 * figure minus it, so the budget does not run ahead of the provider between figures. Checked
 * through a real budget and real settles (memory store, manual clock): the gap a settle reports,
 * the estimate it feeds, the figure lowered by it, and its bounds.
 */
import { describe, expect, it } from 'vitest';
import { Budget, MemoryBudgetStore } from '../../src/index.js';
import { ProviderFeedback } from '../../src/pipeline/provider-feedback.js';
import type { RateLimitHeaders } from '../../src/providers/rate-limit-headers.js';
import { ManualClock } from '../../src/testing/index.js';

const LIMIT = 60_000; // tokens a minute: 1,000 a second
function setup() {
  const clock = new ManualClock();
  const budget = new Budget({
    dimensions: [{ name: 'tpm', key: 'tpm', limit: LIMIT, periodMs: 60_000 }],
    store: new MemoryBudgetStore(),
    clock,
  });
  const feedback = new ProviderFeedback({
    provider: 'openai', // exact figures (Anthropic's are rounded to the thousand)
    modelClass: 'test',
    budget,
    dimensions: ['tpm'],
    configured: [LIMIT],
    utilization: 1,
    periodMs: 60_000,
    onLimitChange: () => {},
  });
  return { clock, budget, feedback };
}
const figures = (remaining: number): RateLimitHeaders => ({ tokens: { remaining } });
const available = async (b: Budget) => (await b.inspect())[0]!.available;

/** One call: reserve `cost`, settle at once with the provider's figure; returns the gaps. */
async function call(
  budget: Budget,
  cost: number,
  left: readonly (number | undefined)[] | undefined,
) {
  const permit = await budget.acquire([cost]);
  return permit.settle([cost], left);
}

describe('the estimate of what others spend between two figures', () => {
  it('a settle reports how far the budget stood above the figure, and comes down to it', async () => {
    const { budget } = setup();
    // The budget believes 60,000 - 1,000 are left; the provider says 55,000: others spent 4,000.
    const gaps = await call(budget, 1_000, [55_000]);
    expect(gaps).toEqual([4_000]);
    // Lowered to it (a µs of the hold's rounding aside).
    expect(55_000 - (await available(budget))).toBeLessThanOrEqual(1);
    // Below the budget's belief no more: the next figure, equal to it, shows no gap.
    const [same] = (await call(budget, 1_000, [54_000])) ?? [];
    expect(Math.abs(same!)).toBeLessThanOrEqual(1);
    // No figure, no gap told.
    expect(await call(budget, 1_000, undefined)).toBeUndefined();
  });

  it('follows the gaps, leaning up, and lowers each figure by the estimate', async () => {
    const { feedback } = setup();
    expect(feedback.remainingOf(figures(10_000), 0)).toEqual([10_000]);
    feedback.noteGaps([1_000]);
    // Up by half the distance, then down by a tenth of it.
    expect(feedback.snapshot(0).outsideSpend).toEqual({ tpm: 500 });
    expect(feedback.remainingOf(figures(10_000), 1_000)).toEqual([9_500]);
    feedback.noteGaps([0]);
    expect(feedback.snapshot(0).outsideSpend).toEqual({ tpm: 450 });
    expect(feedback.remainingOf(figures(10_000), 2_000)).toEqual([9_550]);
    // Never below nothing.
    expect(feedback.remainingOf(figures(100), 3_000)).toEqual([0]);
  });

  it("never estimates below nothing nor above a quarter of the limit (a wrong tier's first gap)", async () => {
    const { feedback } = setup();
    feedback.noteGaps([-5_000]);
    expect(feedback.snapshot(0).outsideSpend).toEqual({});
    feedback.noteGaps([LIMIT]);
    feedback.noteGaps([LIMIT]);
    feedback.noteGaps([LIMIT]);
    expect(feedback.snapshot(0).outsideSpend).toEqual({ tpm: LIMIT / 4 });
    feedback.noteGaps(undefined);
    feedback.noteGaps([undefined]);
    expect(feedback.snapshot(0).outsideSpend).toEqual({ tpm: LIMIT / 4 });
  });
});
