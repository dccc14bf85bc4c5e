/**
 * Limits too large for exact µs arithmetic in single units (OpenAI's 40M+ tokens a minute) are
 * counted in tens (or hundreds...) of units: the budget is built, charges round up and credits
 * down to that unit, and everything the caller sees is in its own units.
 */
import { describe, expect, it } from 'vitest';
import { Budget, CostExceedsCapacityError, MemoryBudgetStore } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('a budget of a very large limit', () => {
  it("is built, charged and settled in the caller's units", async () => {
    const clock = new ManualClock();
    const budget = new Budget({
      dimensions: [{ name: 'tpm', key: 'tpm', limit: 150_000_000, periodMs: 60_000 }],
      store: new MemoryBudgetStore(),
      clock,
    });
    const [dimension] = budget.dimensions;
    expect(dimension!.unit).toBeGreaterThan(1);
    expect(dimension!.limit).toBe(150_000_000);
    const permit = await budget.acquire([1_000_003]);
    const [after] = await budget.inspect();
    // Charged 1,000,003 rounded up to the unit: never less.
    expect(after!.available).toBeLessThanOrEqual(150_000_000 - 1_000_003);
    expect(after!.available).toBeGreaterThanOrEqual(150_000_000 - 1_000_003 - dimension!.unit);
    await permit.settle([3]);
    const [settled] = await budget.inspect();
    expect(settled!.available).toBeGreaterThanOrEqual(150_000_000 - 3 - dimension!.unit);
    expect(settled!.available).toBeLessThanOrEqual(150_000_000);
    await expect(budget.acquire([150_000_001])).rejects.toBeInstanceOf(CostExceedsCapacityError);
  });

  it('keeps single units where the arithmetic allows them', () => {
    const budget = new Budget({
      dimensions: [{ name: 'tpm', key: 'tpm', limit: 30_000_000, periodMs: 60_000 }],
      store: new MemoryBudgetStore(),
    });
    expect(budget.dimensions[0]!.unit).toBe(1);
  });
});
