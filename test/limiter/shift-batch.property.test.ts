/**
 * A batch of shifts applied at once moves a plan exactly as the shifts applied one by one, in the
 * order they arrived, each only when it is the plan's next version (budget.ts re-plans its waiters
 * this way): same move, same version, and stale exactly when a needed version is missing.
 * Versions arrive in runs, with gaps, repeats and runs out of order (a Redis subscription that
 * missed messages, or a plan answered while its shifts arrived).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type QueueShift, shiftedStart } from '../../src/limiter/bucket-queue.js';
import { ShiftBatch } from '../../src/limiter/shift-batch.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);

const partArb = fc.option(
  fc.record({ seq: fc.integer({ min: 0, max: 40 }), add: fc.integer({ min: -5000, max: 5000 }) }),
  { nil: undefined },
);

/** Runs of consecutive versions, each starting anywhere near the others. */
const shiftsArb = fc
  .array(
    fc.record({
      first: fc.integer({ min: 0, max: 30 }),
      parts: fc.array(
        fc.record({ all: fc.integer({ min: -5000, max: 5000 }), before: partArb, after: partArb }),
        { minLength: 1, maxLength: 12 },
      ),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((runs) =>
    runs.flatMap(({ first, parts }) =>
      parts.map(
        (p, i): QueueShift => ({
          version: first + i,
          all: p.all,
          ...(p.before ? { before: p.before } : {}),
          ...(p.after ? { after: p.after } : {}),
        }),
      ),
    ),
  );

/** The shifts one by one, as budget.ts applied them before batches. */
function oneByOne(shifts: readonly QueueShift[], seq: number, version: number) {
  let v = version;
  let addUs = 0;
  for (const shift of shifts) {
    if (shift.version <= v) continue;
    if (shift.version !== v + 1) return { kind: 'stale' as const };
    addUs = shiftedStart(addUs, seq, shift);
    v = shift.version;
  }
  return v === version ? { kind: 'none' as const } : { kind: 'moved' as const, addUs, version: v };
}

describe('a batch of queue shifts', () => {
  it('moves every plan as the shifts one by one', () => {
    let moved = 0;
    let stale = 0;
    fc.assert(
      fc.property(
        shiftsArb,
        fc.array(
          fc.record({
            seq: fc.integer({ min: 0, max: 40 }),
            version: fc.integer({ min: 0, max: 45 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (shifts, plans) => {
          const batch = new ShiftBatch(shifts);
          for (const { seq, version } of plans) {
            const expected = oneByOne(shifts, seq, version);
            expect(batch.apply(seq, version)).toEqual(expected);
            if (expected.kind === 'moved') moved++;
            if (expected.kind === 'stale') stale++;
          }
        },
      ),
      { numRuns: RUNS },
    );
    // Both outcomes were drawn, not only plans the batch leaves alone.
    expect(moved).toBeGreaterThan(RUNS / 4);
    expect(stale).toBeGreaterThan(RUNS / 4);
  });
});
