/**
 * A budget takes the provider's figures: `lowerTo` brings a dimension down to what the provider
 * says remains (never up), and `setLimit` changes a dimension's limit from now on. Both refuse
 * bad figures with typed errors. Time is a manual clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Budget, InvalidConfigError, MemoryBudgetStore } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

function budget(limit: number) {
  const clock = new ManualClock();
  const b = new Budget({
    dimensions: [{ name: 'tpm', key: 'tpm', limit, periodMs: 60_000 }],
    store: new MemoryBudgetStore(),
    clock,
  });
  return { b, clock };
}

const available = async (b: Budget) => (await b.inspect())[0]!.available;

describe("a budget given the provider's figures", () => {
  it('lowerTo never leaves more than the provider says remains, and never raises the budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 12_000 }),
        async (spent, remaining) => {
          const { b } = budget(10_000);
          if (spent > 0) await b.acquire([spent]);
          const before = await available(b);
          await b.lowerTo('tpm', remaining);
          const after = await available(b);
          expect(after).toBeLessThanOrEqual(before);
          expect(after).toBeLessThanOrEqual(Math.max(remaining, 0));
          // It comes down to the provider's figure (within the unit's rounding), not below.
          expect(after).toBeGreaterThanOrEqual(Math.min(before, remaining) - 1);
        },
      ),
    );
  });

  it('setLimit changes the refill from now on, keeping how full the bucket is in time', async () => {
    const { b, clock } = budget(600);
    await b.acquire([600]);
    b.setLimit('tpm', 60);
    expect(b.dimensions[0]!.limit).toBe(60);
    // Empty; a tenth of the period later it holds a tenth of the new limit.
    await clock.advance(6_000);
    expect(await available(b)).toBe(6);
  });

  it('refuses figures that are not counts', async () => {
    const { b } = budget(100);
    await expect(b.lowerTo('tpm', -1)).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(b.lowerTo('tpm', Number.NaN)).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(b.lowerTo('rpm', 1)).rejects.toBeInstanceOf(InvalidConfigError);
    expect(() => b.setLimit('tpm', 0)).toThrow(InvalidConfigError);
    expect(() => b.setLimit('tpm', 1.5)).toThrow(InvalidConfigError);
  });
});
