/**
 * A budget mirrors the provider's bucket: fed the same charges (at each call's start) and settles
 * (credit or overshoot at the moment the call ends), a reference model of the provider's bucket
 * (test/support/reference-bucket.ts, written apart from the library)
 * - never refuses a call the budget started (soundness), and
 * - would never have admitted the first waiting call earlier than the budget lets it start
 *   (efficiency), to within a tolerance of 2 ms of refill,
 * with well over 128 calls outstanding, several dimensions and aborts on the way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Budget } from '../../src/limiter/budget.js';
import type { BudgetPermit } from '../../src/limiter/budget-permit.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { ManualClock } from '../../src/testing/index.js';
import { ReferenceBucket } from '../support/reference-bucket.js';

const runs = Number(process.env.PROPERTY_RUNS ?? 60);
/** Refill the efficiency check forgives: rounding to whole µs per charge, and ms timers. */
const TOLERANCE_MS = 2;

interface Call {
  readonly costs: number[];
  readonly abort: AbortController;
  permit?: BudgetPermit;
  settled: boolean;
  failed: boolean;
  readonly order: number;
}

const step = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('acquire' as const),
      count: fc.integer({ min: 1, max: 40 }),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      share: fc.double({ min: 0, max: 1.3, noNaN: true }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 400 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
);

describe('a budget mirrors the provider bucket (property)', () => {
  it('is sound and efficient against the reference with 128+ calls outstanding', async () => {
    let maxOutstanding = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 20, maxLength: 160 }),
        fc.constantFrom(1, 2, 3),
        async (steps, dims) => {
          const clock = new ManualClock();
          const limits = [600, 6000, 2000].slice(0, dims);
          const bursts = limits.map((l, i) => (i === 0 ? l : Math.floor(l * 0.8)));
          const budget = new Budget({
            dimensions: limits.map((limit, i) => ({
              name: `d${i}`,
              key: `k${i}`,
              limit,
              periodMs: 1000,
              burst: bursts[i]!,
            })),
            store: new MemoryBudgetStore(),
            clock,
          });
          const refs = limits.map((l, i) => new ReferenceBucket(l, 1000, bursts[i]!, clock.now()));
          const calls: Call[] = [];
          const violations: string[] = [];
          const started: Call[] = [];

          // When the reference would admit the first waiting call, if nothing else happened.
          let predicted: { call: Call; atMs: number } | undefined;
          const predict = () => {
            const head = calls.find((c) => !c.permit && !c.failed);
            if (!head) {
              predicted = undefined;
              return;
            }
            const now = clock.now();
            const atMs = Math.max(
              ...head.costs.map(
                (c, i) => now + Math.max(0, c - refs[i]!.levelAt(now)) / refs[i]!.perMs,
              ),
            );
            predicted = { call: head, atMs };
          };
          const onStart = (call: Call, permit: BudgetPermit) => {
            call.permit = permit;
            const now = clock.now();
            if (predicted?.call === call) {
              // Efficiency: it started no later than the reference would have admitted it.
              if (now > predicted.atMs + TOLERANCE_MS) {
                violations.push(`call ${call.order} started ${now - predicted.atMs} ms late`);
              }
            }
            for (const [i, c] of call.costs.entries()) {
              // Soundness: the provider admits every call the budget starts.
              // Slack: 10 µs of refill. The reference counts in float ms near 1.7e12 (timers
              // fire at fractional ms), whose rounding, about 0.25 µs a step, adds up over the
              // refills: once 0.0015 units of a 2-per-ms rate, failing a slack of 1e-6 units.
              if (!refs[i]!.admits(now, c, refs[i]!.perMs / 100)) {
                violations.push(
                  `call ${call.order} refused on d${i}: ${refs[i]!.levelAt(now)} < ${c}`,
                );
              }
              refs[i]!.charge(now, c);
            }
            started.push(call);
            predict();
          };
          const checkEfficiency = () => {
            const head = calls.find((c) => !c.permit && !c.failed);
            if (!head) return;
            const now = clock.now();
            const refused = head.costs.some(
              (c, i) => !refs[i]!.admits(now, c, -TOLERANCE_MS * refs[i]!.perMs),
            );
            if (!refused) violations.push(`call ${head.order} still waits at ${now}`);
          };

          for (const s of steps) {
            if (s.kind === 'acquire') {
              for (let j = 0; j < s.count; j++) {
                const r = (s.seed * 7919 + j * 104_729) % 1_000_003;
                const costs = limits.map((_, i) =>
                  i === 0 ? 1 + (r % 3) : 1 + ((r >> (i * 3)) % Math.floor(bursts[i]! / 2)),
                );
                const call: Call = {
                  costs,
                  abort: new AbortController(),
                  settled: false,
                  failed: false,
                  order: calls.length,
                };
                calls.push(call);
                if (!predicted) predict();
                budget.acquire(costs, { signal: call.abort.signal }).then(
                  (permit) => onStart(call, permit),
                  () => {
                    call.failed = true;
                  },
                );
              }
              await clock.advance(0);
            } else if (s.kind === 'settle') {
              const open = started.filter((c) => !c.settled);
              if (open.length === 0) continue;
              const call = open[s.pick % open.length]!;
              call.settled = true;
              const actual = call.costs.map((c, i) =>
                Math.min(bursts[i]!, Math.floor(c * s.share)),
              );
              const now = clock.now();
              for (const [i, c] of call.costs.entries()) refs[i]!.settle(now, c, actual[i]!);
              await call.permit!.settle(actual);
              predict();
              await clock.advance(0);
            } else if (s.kind === 'abort') {
              const waiting = calls.filter((c) => !c.permit && !c.failed);
              if (waiting.length === 0) continue;
              waiting[s.pick % waiting.length]!.abort.abort(new Error('stop'));
              predict();
              await clock.advance(0);
            } else {
              // Walk in steps, checking that the first waiting call is never one the reference admits.
              for (let t = 0; t < s.ms; t += 50) {
                await clock.advance(Math.min(50, s.ms - t));
                checkEfficiency();
              }
            }
            predict();
            maxOutstanding = Math.max(
              maxOutstanding,
              calls.filter((c) => !c.failed && !c.settled).length,
            );
            checkEfficiency();
          }
          expect(violations).toEqual([]);
          // FIFO: no call started before one that asked earlier (calls let through at the same
          // instant may be told in either order).
          const byOrder = [...started].sort((a, b) => a.order - b.order);
          for (let i = 1; i < byOrder.length; i++) {
            expect(byOrder[i]!.permit!.startedAt).toBeGreaterThanOrEqual(
              byOrder[i - 1]!.permit!.startedAt,
            );
          }
        },
      ),
      { numRuns: runs },
    );
    expect(maxOutstanding).toBeGreaterThanOrEqual(128);
  }, 120_000);
});
