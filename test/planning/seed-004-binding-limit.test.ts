/**
 * Worked examples of the capacity plan, against seed 004's "TPM vs RPM: which will you hit?":
 * 100 calls a minute of 3,000 input and 500 output tokens against 2,000 RPM, 160,000 input TPM
 * and 32,000 output TPM. The seed's figures (300,000 input TPM, 50,000 output TPM and 100 RPM
 * needed; RPM fits, both token limits do not) come out of the plan, and the plan goes on to say
 * which one binds and how many calls fit. Then what the seed leaves out: prompt caching on
 * Anthropic, OpenAI's max_tokens counted at the start, and per-day caps.
 */
import { describe, expect, it } from 'vitest';
import {
  type CallCounting,
  type DimensionPlan,
  planCapacity,
} from '../../src/planning/capacity-plan.js';

const GENERATED: CallCounting = { outputTokens: 'generated', countsCacheReads: false };
const SEED_LIMITS = { rpm: 2_000, itpm: 160_000, otpm: 32_000 };
const SEED_TRAFFIC = { callsPerMinute: 100, inputTokens: 3_000, outputTokens: 500 };

const byName = (dims: readonly DimensionPlan[]) => Object.fromEntries(dims.map((d) => [d.name, d]));

describe("seed 004's worked example", () => {
  const plan = planCapacity({
    limits: SEED_LIMITS,
    traffic: SEED_TRAFFIC,
    counting: GENERATED,
    latencyMs: 10_000,
  });
  const dims = byName(plan.dimensions);

  it('needs what the seed adds up: 100 RPM, 300,000 input TPM, 50,000 output TPM', () => {
    expect(dims.rpm?.demand).toBe(100);
    expect(dims.itpm?.demand).toBe(300_000);
    expect(dims.otpm?.demand).toBe(50_000);
  });

  it('fits RPM and neither token limit, as the seed marks them', () => {
    expect(dims.rpm?.headroom).toBe(1_900);
    expect(dims.itpm?.headroom).toBe(-140_000);
    expect(dims.otpm?.headroom).toBe(-18_000);
    expect(plan.fits).toBe(false);
  });

  it('binds on input tokens: 53 calls a minute fit (160,000 / 3,000), not 100', () => {
    expect(plan.binding).toBe('itpm');
    expect(plan.maxCallsPerMinute).toBe(53);
    expect(dims.otpm?.maxCallsPerMinute).toBe(64); // 32,000 / 500
    expect(dims.rpm?.maxCallsPerMinute).toBe(2_000);
  });

  it("puts 53 calls a minute of 10 s each at 8.83 in flight (Little's law)", () => {
    expect(plan.inFlight.atMax).toBeCloseTo((53 * 10) / 60, 10);
    expect(plan.inFlight.atDemand).toBeCloseTo((100 * 10) / 60, 10);
  });
});

describe('beyond the seed', () => {
  it('on Anthropic, cache reads leave ITPM: 30% cached moves the binding limit to OTPM', () => {
    const plan = planCapacity({
      limits: SEED_LIMITS,
      traffic: { ...SEED_TRAFFIC, cacheReadShare: 0.3 },
      counting: GENERATED,
      latencyMs: 10_000,
    });
    const dims = byName(plan.dimensions);
    expect(dims.itpm?.perCall).toBeCloseTo(2_100, 9); // 3,000 × 0.7
    expect(dims.itpm?.maxCallsPerMinute).toBe(76); // 160,000 / 2,100 = 76.2
    expect(plan.binding).toBe('otpm');
    expect(plan.maxCallsPerMinute).toBe(64);
  });

  it('on a † class, cache reads still count toward ITPM', () => {
    const plan = planCapacity({
      limits: SEED_LIMITS,
      traffic: { ...SEED_TRAFFIC, cacheReadShare: 0.3 },
      counting: { outputTokens: 'generated', countsCacheReads: true },
      latencyMs: 10_000,
    });
    expect(plan.binding).toBe('itpm');
    expect(plan.maxCallsPerMinute).toBe(53);
  });

  it('on OpenAI, TPM counts input and output: 200,000 / 3,500 = 57 calls', () => {
    const plan = planCapacity({
      limits: { rpm: 500, tpm: 200_000 },
      traffic: { ...SEED_TRAFFIC, maxTokens: 1_024 },
      counting: { outputTokens: 'max_tokens', countsCacheReads: true },
      latencyMs: 11_000,
    });
    const tpm = byName(plan.dimensions).tpm;
    expect(tpm?.perCall).toBe(3_500);
    expect(tpm?.atStart).toBe(4_024); // max_tokens charged when the call starts
    expect(tpm?.limitedBy).toBe('rate');
    expect(plan.binding).toBe('tpm');
    expect(plan.maxCallsPerMinute).toBe(57);
  });

  it('on OpenAI, a large max_tokens held by long calls in flight binds before the rate', () => {
    // 16,000 max_tokens, 500 used, 60 s calls: each call in flight holds 15,500 tokens back.
    // n calls/min keep n in flight: n × 15,500 + 19,000 (the next start) <= 200,000 -> n <= 11.
    const plan = planCapacity({
      limits: { rpm: 500, tpm: 200_000 },
      traffic: { ...SEED_TRAFFIC, maxTokens: 16_000 },
      counting: { outputTokens: 'max_tokens', countsCacheReads: true },
      latencyMs: 60_000,
    });
    const tpm = byName(plan.dimensions).tpm;
    expect(tpm?.limitedBy).toBe('in-flight');
    expect(plan.maxCallsPerMinute).toBe(11);
    // Output counted as generated holds nothing back: the rate alone binds (57).
    const generated = planCapacity({
      limits: { rpm: 500, tpm: 200_000 },
      traffic: { ...SEED_TRAFFIC, maxTokens: 16_000 },
      counting: { outputTokens: 'generated', countsCacheReads: true },
      latencyMs: 60_000,
    });
    expect(generated.maxCallsPerMinute).toBe(57);
  });

  it('a call larger than the limit fits zero times', () => {
    const plan = planCapacity({
      limits: { rpm: 50, itpm: 30_000, otpm: 8_000 },
      traffic: { callsPerMinute: 1, inputTokens: 1_000, outputTokens: 100, maxTokens: 10_000 },
      counting: { outputTokens: 'max_tokens', countsCacheReads: false },
      latencyMs: 1_000,
    });
    expect(plan.binding).toBe('otpm');
    expect(plan.maxCallsPerMinute).toBe(0);
    expect(byName(plan.dimensions).otpm?.limitedBy).toBe('one-call');
  });

  it('a per-day cap binds sustained traffic: 10,000 RPD is 6 calls a minute all day', () => {
    const plan = planCapacity({
      limits: { rpm: 500, tpm: 200_000, rpd: 10_000 },
      traffic: { callsPerMinute: 10, inputTokens: 100, outputTokens: 100 },
      counting: { outputTokens: 'max_tokens', countsCacheReads: true },
      latencyMs: 1_000,
    });
    expect(plan.binding).toBe('rpd');
    expect(plan.maxCallsPerMinute).toBe(6); // 10,000 / 1,440 = 6.9
  });

  it('utilization keeps a share of every limit for others: 0.7 of 160,000 ITPM is 37 calls', () => {
    const plan = planCapacity({
      limits: SEED_LIMITS,
      traffic: SEED_TRAFFIC,
      counting: GENERATED,
      latencyMs: 10_000,
      utilization: 0.7,
    });
    expect(plan.maxCallsPerMinute).toBe(37); // 112,000 / 3,000 = 37.3
  });
});
