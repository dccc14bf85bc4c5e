/**
 * The in-process store grants by updating its own GCRA state (gcraGrantInPlace), to spare the
 * allocations of a new state and ledger per call. Property: over random sequences of grants,
 * refunds, charges and holds, the state it updates equals, field for field, the one the pure
 * `gcraGrant` builds, ledger and its overflow included.
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

const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      dt: fc.integer({ min: 0, max: 200_000 }),
      cost: fc.integer({ min: 1, max: 300_000 }),
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

/** A deep copy: what the pure functions see must never be touched by the in-place ones. */
const copy = (s: GcraState): GcraState => structuredClone(s);

describe('granting in place', () => {
  it('leaves the same state as the pure grant, after any sequence of events', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), (ops) => {
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
      }),
      { numRuns: RUNS },
    );
  });
});
