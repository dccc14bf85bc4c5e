/**
 * The in-process store's ticket queue (Fenwick trees over slots, renumbered as they run out)
 * against a plain array of tickets: after any sequence of appends, removals anywhere and starts
 * that pass the tickets ahead of them, every ticket has the same place, the same sum of costs up
 * to it, the same `at`, and the first ticket is the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueuedTicket } from '../../src/limiter/bucket-queue.js';
import { TicketQueue } from '../../src/limiter/ticket-queue.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      count: fc.integer({ min: 1, max: 40 }),
      cost: fc.integer({ min: 1, max: 1e9 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('start' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeAll' as const) }) },
);

describe('the ticket queue', () => {
  it('answers as a plain array of tickets', () => {
    let longest = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 400 }), (ops) => {
        const queue = new TicketQueue();
        let ref: QueuedTicket[] = [];
        let seq = 1000;
        let now = 0;
        for (const op of ops) {
          now += 7;
          if (op.kind === 'push') {
            for (let i = 0; i < op.count; i++) {
              queue.push(++seq, op.cost + i, now);
              ref.push({ seq, cost: op.cost + i, at: now });
            }
          } else if (op.kind === 'removeAll') {
            for (const t of ref) expect(queue.remove(t.seq)?.cost).toBe(t.cost);
            ref = [];
          } else if (ref.length > 0) {
            const index = op.pick % ref.length;
            const t = ref[index]!;
            expect(queue.remove(t.seq)).toEqual({ cost: t.cost, index });
            ref.splice(index, 1);
            if (op.kind === 'start') {
              // A start passes the tickets ahead of it (bucket-queue.ts `claim`).
              queue.passAhead(index, now);
              ref = ref.map((r, i) => (i < index && r.at >= 0 ? { ...r, at: -(now + 1) } : r));
            }
          }
          longest = Math.max(longest, ref.length);
          expect(queue.length).toBe(ref.length);
          expect(queue.first()).toEqual(ref[0]);
          let sum = 0;
          ref.forEach((t, i) => {
            sum += t.cost;
            expect(queue.indexOf(t.seq)).toBe(i);
            expect(queue.costsThrough(t.seq)).toBe(sum);
          });
          expect(queue.toArray()).toEqual(ref);
          expect(queue.indexOf(seq + 1)).toBe(-1);
        }
      }),
      { numRuns: RUNS },
    );
    // Long enough to be renumbered several times over.
    expect(longest).toBeGreaterThan(100);
  });
});
