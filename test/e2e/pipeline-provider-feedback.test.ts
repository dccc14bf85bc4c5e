/**
 * The provider's figures steer the budget, through the real SDK against the simulator: a limit
 * header below the configured limit is adopted, another consumer's spend reaches the budget
 * through the `remaining` headers, and 429s that no header explains cut the rate until a quiet
 * period restores it.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import {
  anthropicPolicy,
  type LimitChangeEvent,
  openaiPolicy,
  QuotaExhaustedError,
  wrap,
} from '../../src/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { simulatorsClosedAfterEach } from '../support/simulators.js';

const simulator = simulatorsClosedAfterEach();

const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};

function pipeline(sim: Simulator, extra: Parameters<typeof anthropicPolicy>[0]) {
  const policy = anthropicPolicy({ store: new MemoryBudgetStore(), ...extra });
  const client = new Anthropic({
    baseURL: sim.url,
    apiKey: 'test',
    maxRetries: 0,
    fetch: policy.fetch,
  });
  const changes: LimitChangeEvent[] = [];
  policy.onLimitChange((e) => changes.push(e));
  return { policy, client, changes };
}

const otpmOf = async (policy: ReturnType<typeof anthropicPolicy>) =>
  (await policy.inspect()).limits.find((d) => d.name === 'otpm')!;

describe('provider feedback', () => {
  it('adopts a provider limit below the configured one, and never one above it', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      limits: { rpm: 1_000, itpm: 1_000_000, otpm: 10_000 },
    });
    // Configured at twice the real output quota, and at half the real request quota.
    const { policy, client, changes } = pipeline(sim, {
      limits: { rpm: 500, itpm: 1_000_000, otpm: 20_000 },
    });
    expect((await otpmOf(policy)).limit).toBe(20_000);
    await wrap(policy).execute(() => client.messages.create(params));
    expect(changes).toEqual([
      {
        modelClass: 'limits',
        dimension: 'otpm',
        from: 20_000,
        to: 10_000,
        reason: 'provider-limit',
      },
    ]);
    const snapshot = await policy.inspect();
    expect(snapshot.limits.find((d) => d.name === 'otpm')?.limit).toBe(10_000);
    expect(snapshot.limits.find((d) => d.name === 'rpm')?.limit).toBe(500);
    expect(snapshot.feedback).toEqual([
      {
        modelClass: 'limits',
        adaptiveFactor: 1,
        providerLimits: { otpm: 10_000 },
        outsideSpend: {},
      },
    ]);
  });

  it("brings the budget down to the provider's remaining when another consumer spends the quota", async () => {
    const sim = await simulator({
      provider: 'anthropic',
      limits: { rpm: 30, itpm: 1_000_000, otpm: 1_000_000 },
    });
    const { policy, client } = pipeline(sim, {
      limits: { rpm: 30, itpm: 1_000_000, otpm: 1_000_000 },
    });
    // Another service on the same organisation, outside any pipeline: 15 requests.
    const other = new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0 });
    await Promise.all(Array.from({ length: 15 }, () => other.messages.create(params)));
    await wrap(policy).execute(() => client.messages.create(params));
    const rpm = (await policy.inspect()).limits.find((d) => d.name === 'rpm')!;
    // 30 - 16 requests, plus the refill (one in 2 s) of the seconds a slow machine takes; without
    // the headers the budget would believe in 29.
    expect(rpm.available).toBeLessThanOrEqual(20);
    expect(rpm.available).toBeGreaterThanOrEqual(12);
    expect(sim.stats().statuses['429'] ?? 0).toBe(0);
  });

  it('cuts the rate by a fifth on a 429 no header explains, and restores it after quiet periods', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'rate_limit', retryAfterSeconds: 1 }] },
    });
    // A three-second period, so the quiet periods pass quickly (the retry-after is 1 s).
    const { policy, client, changes } = pipeline(sim, {
      limits: { rpm: 1_000, itpm: 1_000_000, otpm: 100_000 },
      periodMs: 3_000,
    });
    await wrap(policy).execute(() => client.messages.create(params));
    expect(sim.stats().requests).toBe(2);
    const cut = changes.filter((c) => c.dimension === 'rpm');
    expect(cut).toEqual([
      { modelClass: 'limits', dimension: 'rpm', from: 1_000, to: 800, reason: 'adaptive' },
    ]);
    expect((await policy.inspect()).feedback?.[0]?.adaptiveFactor).toBe(0.8);
    // Two quiet periods, a call after each: 0.9, then 1.
    for (let step = 0; step < 2; step++) {
      await new Promise((r) => setTimeout(r, 3_100));
      await wrap(policy).execute(() => client.messages.create(params));
    }
    expect(changes.filter((c) => c.dimension === 'rpm').map((c) => c.to)).toEqual([
      800, 900, 1_000,
    ]);
    expect((await policy.inspect()).feedback).toBeUndefined();
  });

  it('stops the budget after a quota refusal: later calls are refused at once, sending nothing', async () => {
    const sim = await simulator({
      provider: 'openai',
      faults: { script: [{ kind: 'insufficient_quota' }] },
    });
    const policy = openaiPolicy({
      limits: { rpm: 600, tpm: 1_000_000 },
      store: new MemoryBudgetStore(),
    });
    const client = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const call = () =>
      wrap(policy).execute(() =>
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          max_tokens: 32,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      );
    await expect(call()).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    // On the pipeline's clock: Date.now() and the monotonic system clock drift apart by ms.
    const before = systemClock.now();
    const refused = await call().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QuotaExhaustedError);
    // No stated end: one period of the limits (a minute), then one request tries again.
    const resumeAt = (refused as QuotaExhaustedError).resumeAt;
    expect(resumeAt).toBeGreaterThan(before + 55_000);
    expect(resumeAt).toBeLessThanOrEqual(before + 60_000);
    expect(sim.stats().requests).toBe(1);
    // inspect() says why nothing is sent.
    expect((await policy.inspect()).feedback).toEqual([
      {
        modelClass: 'limits',
        adaptiveFactor: 1,
        providerLimits: {},
        outsideSpend: {},
        quotaStoppedUntil: Math.round(resumeAt),
      },
    ]);
  });
});
