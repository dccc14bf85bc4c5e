/**
 * The in-process store grants by updating its own GCRA state (gcraGrantInPlace), to spare the
 * allocations of a new state and ledger per call. Property: over random sequences of grants,
 * refunds, charges and holds, the state it updates equals, field for field, the one the pure
 * `gcraGrant` builds, ledger (read through its entries) and its overflow included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type GcraState,
  gcraCharge,
  gcraGrant,
  gcraGrantInPlace,
  gcraHold,
  gcraRefund,
  gcraWait,
  initialGcraState,
} from '../../src/limiter/gcra.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const CAPACITY_US = 1_000_000;

/** Events; grants `dt` and `cost` apart in µs, a few weighted `grantWeight` to the rest's 4. */
const eventsArb = (dtMax: number, costMax: number, grantWeight: number) =>
  fc.oneof(
    {
      weight: grantWeight,
      arbitrary: fc.record({
        kind: fc.constant('grant' as const),
        dt: fc.integer({ min: 0, max: dtMax }),
        cost: fc.integer({ min: 1, max: costMax }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('refund' as const),
        back: fc.integer({ min: 0, max: 20 }),
        us: fc.integer({ min: 1, max: 300_000 }),
        undo: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('charge' as const),
        us: fc.integer({ min: 1, max: 100_000 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('hold' as const),
        us: fc.integer({ min: 1, max: 500_000 }),
      }),
    },
  );

const opArb = eventsArb(200_000, 300_000, 6);
/**
 * Grants closer together than their cost, nearly uninterrupted: the schedule runs ahead with
 * ever larger gaps, so the ledger fills and drops its oldest entries (its floor moves) again and
 * again, as it does under a busy in-process limiter.
 */
const runningAheadArb = eventsArb(1_000, 20_000, 60);

/**
 * A deep copy, the ledger as it reads (an owned ledger keeps its entries in a ring): what the
 * pure functions see must never be touched by the in-place ones.
 */
const copy = (s: GcraState): GcraState =>
  structuredClone({
    ...s,
    ledger: { offset: s.ledger.offset, floor: s.ledger.floor, entries: [...s.ledger.entries] },
  });

describe('granting in place', () => {
  it('leaves the same state as the pure grant, after any sequence of events', () => {
    sameAsPure(opArb, 1, 80, 'small');
  });

  it('leaves the same state on a schedule running ahead, past the ledger size', () => {
    // The generator is built for it: the ledger overflowed in most runs.
    expect(sameAsPure(runningAheadArb, 40, 120, 'max')).toBeGreaterThan(RUNS / 2);
  });
});

/** Checks the property over `arb`'s sequences; returns in how many the ledger overflowed. */
function sameAsPure(
  arb: typeof opArb,
  minLength: number,
  maxLength: number,
  size: 'small' | 'max',
): number {
  let floorMoved = 0;
  fc.assert(
    fc.property(fc.array(arb, { minLength, maxLength, size }), (ops) => {
      let now = 1_700_000_000_000_000;
      let pure: GcraState = initialGcraState;
      // The store's own copy of the initial state, as MemoryStore makes it.
      let owned: GcraState = { ...initialGcraState };
      const seqs: number[] = [];
      for (const op of ops) {
        if (op.kind === 'grant') {
          now += op.dt;
          const cost = Math.min(op.cost, CAPACITY_US);
          const start = now + gcraWait(pure, now, cost, CAPACITY_US);
          pure = gcraGrant(pure, now, start, cost);
          owned = gcraGrantInPlace(owned, now, start, cost);
          seqs.push(pure.seq);
        } else if (op.kind === 'refund') {
          const seq = seqs[Math.max(0, seqs.length - 1 - op.back)];
          if (seq === undefined) continue;
          pure = gcraRefund(pure, op.us, seq, op.undo);
          owned = gcraRefund(owned, op.us, seq, op.undo);
        } else if (op.kind === 'charge') {
          pure = gcraCharge(pure, now, op.us);
          owned = gcraCharge(owned, now, op.us);
        } else {
          pure = gcraHold(pure, now, now + op.us, CAPACITY_US);
          owned = gcraHold(owned, now, now + op.us, CAPACITY_US);
        }
        expect(copy(owned)).toEqual(copy(pure));
      }
      // The shared initial state was never written.
      expect(initialGcraState).toEqual({
        tat: 0,
        seq: 0,
        lastStart: 0,
        prevStart: 0,
        ledger: { offset: 0, floor: 0, entries: [] },
        heldUntil: 0,
      });
      if (owned.ledger.floor > 0) floorMoved++;
    }),
    { numRuns: RUNS },
  );
  return floorMoved;
}
