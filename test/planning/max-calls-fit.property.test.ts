/**
 * Property tests of the capacity plan: the most calls per minute it reports fit every limit, and
 * one more call per minute does not fit the binding one; scaling the traffic to that rate fits,
 * one more does not; more quota never plans fewer calls, and longer calls never plan more.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CallCounting,
  fitsDimension,
  PLAN_DIMENSIONS,
  type PlanDimension,
  type PlanInput,
  type PlanLimits,
  planCapacity,
} from '../../src/planning/capacity-plan.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);

const limitArb = fc.oneof(
  fc.integer({ min: 1, max: 100_000_000 }),
  fc.double({ min: 0.5, max: 1e9, noNaN: true, noDefaultInfinity: true }),
);

/** At least rpm or one token limit, so something always binds. */
const limitsArb: fc.Arbitrary<PlanLimits> = fc
  .record(
    Object.fromEntries(PLAN_DIMENSIONS.map((d) => [d, fc.option(limitArb, { nil: undefined })])),
  )
  .map((limits) => {
    const out: PlanLimits = {};
    for (const [name, value] of Object.entries(limits)) {
      if (value !== undefined) out[name as PlanDimension] = value as number;
    }
    if (out.rpm === undefined && out.rpd === undefined) out.rpm = 1 + (out.itpm ?? 1000);
    return out;
  });

const countingArb: fc.Arbitrary<CallCounting> = fc.record({
  outputTokens: fc.constantFrom('max_tokens', 'generated', 'none'),
  countsCacheReads: fc.boolean(),
});

const inputArb: fc.Arbitrary<PlanInput> = fc
  .record({
    limits: limitsArb,
    counting: countingArb,
    calls: fc.double({ min: 0.01, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    inputTokens: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000_000 })),
    outputTokens: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 100_000, noNaN: true })),
    extraMax: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
    cache: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    latencyMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 600_000 })),
    utilization: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { nil: undefined }),
  })
  .map((a) => ({
    limits: a.limits,
    counting: a.counting,
    latencyMs: a.latencyMs,
    ...(a.utilization !== undefined && { utilization: a.utilization }),
    traffic: {
      callsPerMinute: a.calls,
      inputTokens: a.inputTokens,
      outputTokens: a.outputTokens,
      ...(a.extraMax !== undefined && { maxTokens: a.outputTokens + a.extraMax }),
      ...(a.cache !== undefined && { cacheReadShare: a.cache }),
    },
  }));

describe('the most calls per minute that fit', () => {
  it('fit every limit, and one more does not fit the binding one', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = planCapacity(input);
        const max = plan.maxCallsPerMinute;
        for (const d of plan.dimensions) {
          expect(fitsDimension(max, d, input.latencyMs)).toBe(true);
          if (d.maxCallsPerMinute !== null) {
            // Each dimension's own figure is exact too: the largest whole rate it lets through.
            expect(fitsDimension(d.maxCallsPerMinute, d, input.latencyMs)).toBe(true);
            expect(fitsDimension(d.maxCallsPerMinute + 1, d, input.latencyMs)).toBe(false);
            expect(d.maxCallsPerMinute).toBeGreaterThanOrEqual(max);
          }
        }
        const binding = plan.dimensions.find((d) => d.name === plan.binding)!;
        expect(binding.maxCallsPerMinute).toBe(max);
        expect(fitsDimension(max + 1, binding, input.latencyMs)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('the traffic scaled to that rate fits every limit; one call more per minute does not', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { maxCallsPerMinute: max, binding } = planCapacity(input);
        const at = (calls: number) =>
          planCapacity({ ...input, traffic: { ...input.traffic, callsPerMinute: calls } });
        if (max > 0) {
          const scaled = at(max);
          expect(scaled.fits).toBe(true);
          // Within each budget at the rate that fits (the per-period count, as the seeds add up).
          for (const d of scaled.dimensions) expect(d.demand).toBeLessThanOrEqual(d.budget);
        }
        const over = at(max + 1);
        expect(over.fits).toBe(false);
        const bound = over.dimensions.find((d) => d.name === binding)!;
        expect(fitsDimension(max + 1, bound, input.latencyMs)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('more quota on any limit never plans fewer calls; longer calls never plan more', () => {
    fc.assert(
      fc.property(
        inputArb,
        fc.constantFrom(...PLAN_DIMENSIONS),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (input, name, factor) => {
          const before = planCapacity(input).maxCallsPerMinute;
          const limit = input.limits[name];
          if (limit !== undefined) {
            const raised = planCapacity({
              ...input,
              limits: { ...input.limits, [name]: limit * factor },
            });
            expect(raised.maxCallsPerMinute).toBeGreaterThanOrEqual(before);
          }
          const slower = planCapacity({ ...input, latencyMs: input.latencyMs * factor + 1 });
          expect(slower.maxCallsPerMinute).toBeLessThanOrEqual(before);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
