/**
 * A start on a full bucket is charged `arrivalLagMs` besides its cost (the refill a full provider
 * bucket loses while the request travels). The answer proves the request arrived before it came:
 * a settle told when the answer came credits back the part of that charge after that moment, and
 * nothing more: never more than was charged for lag, nothing for a start that paid none. Time is
 * a manual clock; 1 unit is 1 ms of refill (1,000 a second).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Budget, MemoryBudgetStore } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

function budget(arrivalLagMs = 250) {
  const clock = new ManualClock();
  const b = new Budget({
    dimensions: [{ name: 'otpm', key: 'otpm', limit: 1_000, periodMs: 1_000, arrivalLagMs }],
    store: new MemoryBudgetStore(),
    clock,
  });
  return { b, clock };
}

const available = async (b: Budget) => (await b.inspect())[0]!.available;

describe('the arrival lag charged on a full bucket', () => {
  it('is credited back as far as the answer shows the request had arrived', async () => {
    const { b, clock } = budget();
    const permit = await b.acquire([100]);
    // 100 units and 250 ms of lag: the schedule ends at 350 ms.
    expect(await available(b)).toBe(650);
    await clock.advance(50);
    await permit.settle([100], undefined, clock.now());
    // Answered at 50 ms: 200 ms of the lag were never lost; the schedule ends at 150 ms.
    expect(await available(b)).toBe(900);
  });

  it('is kept when no answer time is given, or when the answer came after the whole lag', async () => {
    for (const answeredAfterMs of [undefined, 250, 300]) {
      const { b, clock } = budget();
      const permit = await b.acquire([100]);
      const elapsedMs = answeredAfterMs ?? 50;
      await clock.advance(elapsedMs);
      await permit.settle(
        [100],
        undefined,
        answeredAfterMs === undefined ? undefined : clock.now(),
      );
      // The schedule still ends at 350 ms.
      expect(await available(b)).toBe(Math.min(1_000, 1_000 - 350 + elapsedMs));
    }
  });

  it('gives nothing back to a start on a busy bucket, which paid no lag', async () => {
    const { b } = budget();
    await b.acquire([600]); // pays the lag: the schedule ends at 850 ms
    const second = await b.acquire([100]); // 850 ms > now + 250 ms: no lag
    expect(await available(b)).toBe(50);
    await second.settle([100], undefined, 0);
    expect(await available(b)).toBe(50);
  });

  it('never credits more than the lag it charged, whatever the costs and the answer time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 700 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 0, max: 400 }),
        async (lagMs, first, cost, answeredAfterMs) => {
          const run = async (tell: boolean) => {
            const { b, clock } = budget(lagMs);
            if (first > 0) await b.acquire([first]);
            const before = await available(b);
            const decision = await b.tryAcquire([cost]);
            const permit = decision.permit;
            if (!permit) return undefined;
            const charged = before - (await available(b)) - cost;
            await clock.advance(answeredAfterMs);
            await permit.settle([cost], undefined, tell ? clock.now() : undefined);
            return { after: await available(b), charged };
          };
          const told = await run(true);
          const untold = await run(false);
          fc.pre(told !== undefined && untold !== undefined);
          if (told === undefined || untold === undefined) return;
          expect(told.charged).toBeGreaterThanOrEqual(0);
          expect(told.charged).toBeLessThanOrEqual(lagMs);
          // The credit: at most what was charged for lag, and only the part after the answer.
          const credit = told.after - untold.after;
          expect(credit).toBeGreaterThanOrEqual(0);
          expect(credit).toBeLessThanOrEqual(
            Math.min(told.charged, Math.max(0, lagMs - answeredAfterMs)),
          );
        },
      ),
    );
  });
});
