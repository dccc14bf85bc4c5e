/**
 * Property 4 of issue #2 through the public Limiter API: every acquire with cost <= burst starts
 * exactly when it was promised (never later, and never earlier, which would break the bound),
 * with one timer for the whole queue.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcra, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('acquire (property)', () => {
  it('each caller starts at its promised time, in FIFO order, with one timer per queue', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('gcra', 'token-bucket'),
        fc.integer({ min: 1, max: 20 }),
        fc.array(
          fc.record({
            gapMs: fc.integer({ min: 0, max: 300 }),
            cost: fc.integer({ min: 1, max: 4 }),
          }),
          {
            minLength: 1,
            maxLength: 25,
          },
        ),
        async (algorithm, perSecond, arrivals) => {
          const clock = new ManualClock();
          const limiter =
            algorithm === 'gcra'
              ? gcra({ key: 'k', limit: perSecond, periodMs: 1000, burst: 4, clock })
              : tokenBucket({ key: 'k', capacity: 4, refillPerSecond: perSecond, clock });
          const runs: Array<Promise<{ promised: number; started: number; order: number }>> = [];
          for (const [order, a] of arrivals.entries()) {
            await clock.advance(a.gapMs);
            const askedAt = clock.now();
            runs.push(
              limiter.acquire(a.cost).then((permit) => ({
                promised: askedAt + permit.waitedMs,
                started: clock.now(),
                order,
              })),
            );
            // However many callers wait, the queue holds at most one timer.
            expect(clock.pendingTimers).toBeLessThanOrEqual(1);
          }
          await clock.advance(60_000);
          const results = await Promise.all(runs);
          for (const r of results) expect(r.started).toBeCloseTo(r.promised, 6);
          const byStart = [...results].sort((x, y) => x.started - y.started || x.order - y.order);
          expect(byStart.map((r) => r.order)).toEqual(results.map((r) => r.order));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
