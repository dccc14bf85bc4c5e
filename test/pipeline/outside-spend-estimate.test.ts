/**
 * Another service spending the same organisation's quota shows between two of the provider's
 * `remaining` figures: the budget, brought down to the last one, stands above the next by what
 * the other spent. The key keeps an estimate of that (bucket-queue.ts `lowerTo`, the same for
 * every worker, memory and Redis alike: the budget differential test holds them equal) and each
 * figure lowers the budget by it besides. Checked through a real budget and real settles against
 * a model of the provider's bucket (memory store, manual clock; 1 unit is 1 ms of refill).
 */
import { describe, expect, it } from 'vitest';
import { Budget, MemoryBudgetStore } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

const CAP = 60_000; // tokens a minute, all in the bucket: 1,000 a second

function setup() {
  const clock = new ManualClock();
  const budget = new Budget({
    dimensions: [{ name: 'tpm', key: 'tpm', limit: CAP, periodMs: 60_000 }],
    store: new MemoryBudgetStore(),
    clock,
  });
  return { clock, budget };
}
const available = async (b: Budget) => (await b.inspect())[0]!.available;

/**
 * `steps` calls a second apart, each costing 800; the provider's bucket (`provider`) refills as
 * the budget's (1,000 a second) and also pays `others` a step. Each settle carries the provider's figure. Returns
 * the estimates the settles reported and how far the budget stood above the provider before
 * each call.
 */
async function run(steps: number, others: number) {
  const { clock, budget } = setup();
  let provider = CAP;
  const estimates: number[] = [];
  const ahead: number[] = [];
  for (let i = 0; i < steps; i++) {
    await clock.advance(1_000);
    provider = Math.min(CAP, provider + 1_000) - others;
    ahead.push((await available(budget)) - provider);
    const permit = await budget.acquire([800]);
    provider -= 800;
    const [estimate] = (await permit.settle([800], [provider])) ?? [];
    estimates.push(estimate!);
  }
  return { estimates, ahead, budget };
}

describe("the key's estimate of what others spend between two figures", () => {
  it('stays at nothing while nobody else spends', async () => {
    const { estimates, ahead } = await run(30, 0);
    expect(estimates.every((e) => e === 0)).toBe(true);
    expect(Math.max(...ahead)).toBeLessThanOrEqual(1);
  });

  it('follows what another spends, and keeps the budget from running ahead of the provider', async () => {
    const { estimates, ahead } = await run(60, 400);
    // Up fast (half the gap), down slowly (a tenth): close to 400 within the minute.
    expect(estimates[0]).toBeGreaterThan(0);
    const last = estimates.at(-1)!;
    expect(last).toBeGreaterThanOrEqual(400);
    expect(last).toBeLessThanOrEqual(460);
    // Before the estimate, the budget stood 400 above the provider at a call; after it, never
    // above it.
    expect(ahead[1]).toBeGreaterThanOrEqual(399);
    expect(Math.max(...ahead.slice(10))).toBeLessThanOrEqual(1);
  });

  it('is bounded by a quarter of the bucket, and forgotten after a bucket without a figure', async () => {
    const { clock, budget } = setup();
    const first = await budget.acquire([500]);
    // The provider says 40,000 less than the budget believes.
    const [estimate] = (await first.settle([500], [59_500 - 40_000])) ?? [];
    expect(estimate).toBe(CAP / 4);
    expect(await available(budget)).toBeLessThanOrEqual(19_500);
    await clock.advance(60_000);
    const second = await budget.acquire([500]);
    // A bucket's time later: a figure equal to the budget's belief finds no estimate to apply.
    expect(await available(budget)).toBe(59_500);
    const [after] = (await second.settle([500], [59_500])) ?? [];
    expect(after).toBe(0);
    expect(await available(budget)).toBeGreaterThanOrEqual(59_499);
  });
});
