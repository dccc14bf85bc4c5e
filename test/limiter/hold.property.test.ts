/**
 * Holds among waiting callers, for any interleaving of arrivals, holds and time: no call starts
 * inside a hold placed before its start, every call ends (starts or is refused for its
 * maxWaitMs), each starts exactly when its permit says, and the starts stay within the GCRA bound
 * at reserved cost.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcra, MemoryStore, RateLimitExceededError, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const BURST = 3;

/** Counts give-backs: here only a caller woken inside a hold gives its slot back. */
class CountingStore extends MemoryStore {
  refunds = 0;
  override refund(...args: Parameters<MemoryStore['refund']>): Promise<void> {
    this.refunds++;
    return super.refund(...args);
  }
}

const opArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('acquire' as const),
      cost: fc.integer({ min: 1, max: BURST }),
      maxWaitMs: fc.option(fc.integer({ min: 0, max: 8000 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      ms: fc.integer({ min: 1, max: 4000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 700 }),
    }),
  },
);

describe('hold among waiting callers (property)', () => {
  it('no start inside a hold, every call ends, starts as promised, within the bound', async () => {
    let requeued = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('gcra', 'token-bucket'),
        fc.integer({ min: 1, max: 10 }),
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        async (algorithm, perSecond, ops) => {
          const clock = new ManualClock();
          const store = new CountingStore();
          const options = { key: 'k', clock, store };
          const limiter =
            algorithm === 'gcra'
              ? gcra({ ...options, limit: perSecond, periodMs: 1000, burst: BURST })
              : tokenBucket({ ...options, capacity: BURST, refillPerSecond: perSecond });
          const holds: Array<{ from: number; until: number }> = [];
          const calls: Array<Promise<{ started: number; startsAt: number; cost: number }>> = [];
          const refused: unknown[] = [];
          for (const op of ops) {
            if (op.kind === 'advance') {
              await clock.advance(op.ms);
            } else if (op.kind === 'hold') {
              const from = clock.now();
              await limiter.holdFor(op.ms);
              holds.push({ from, until: from + op.ms });
            } else {
              const wait = op.maxWaitMs === undefined ? {} : { maxWaitMs: op.maxWaitMs };
              calls.push(
                limiter.acquire(op.cost, wait).then(
                  (permit) => ({ started: clock.now(), startsAt: permit.startsAt, cost: op.cost }),
                  (error: unknown) => {
                    refused.push(error);
                    return { started: Number.NaN, startsAt: Number.NaN, cost: 0 };
                  },
                ),
              );
            }
          }
          await clock.advance(600_000);
          const results = await Promise.all(calls);
          for (const error of refused) expect(error).toBeInstanceOf(RateLimitExceededError);
          const ran = results.filter((r) => !Number.isNaN(r.started));
          expect(ran.length + refused.length).toBe(calls.length);
          for (const r of ran) {
            expect(r.started).toBeCloseTo(r.startsAt, 6);
            for (const h of holds) {
              // Calls starting at the instant the hold is placed started before it (ops run in
              // order: timers fire in `advance`, then the hold); earlier ones are not its
              // business.
              if (r.started > h.from) expect(r.started).toBeGreaterThanOrEqual(h.until);
            }
          }
          requeued += store.refunds;
          // GCRA bound at reserved cost: any window of start times [a, b] holds at most
          // burst + (b - a) * rate units (1 µs of rounding per start).
          const starts = [...ran].sort((x, y) => x.started - y.started);
          for (let i = 0; i < starts.length; i++) {
            let units = 0;
            for (let j = i; j < starts.length; j++) {
              units += starts[j]!.cost;
              const spanMs = starts[j]!.started - starts[i]!.started;
              expect(units).toBeLessThanOrEqual(BURST + (spanMs * perSecond) / 1000 + 1e-6);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    // The generator does reach callers woken inside a hold.
    expect(requeued).toBeGreaterThan(RUNS / 10);
    console.log(`hold property: ${requeued} callers queued again over ${RUNS} runs`);
  });
});
