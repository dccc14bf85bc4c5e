/**
 * Three pipeline options through the real SDK against the simulator: a tenant's budget inside the
 * global one (both charged), the attempt timeout (each attempt cut, paid and retried), and the
 * output estimate of a provider that counts output as generated (after a warm-up it reserves
 * what calls really produce, not `max_tokens`).
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { anthropicPolicy, classifyError, RateLimitExceededError, wrap } from '../../src/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { simulatorsClosedAfterEach } from '../support/simulators.js';

const simulator = simulatorsClosedAfterEach();

const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};

function client(sim: Simulator, policy: { fetch: typeof fetch }): Anthropic {
  return new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, fetch: policy.fetch });
}

describe('pipeline tenants, attempt timeouts and output estimates', () => {
  it('a tenant spends its share and no more, and every tenant call is charged to the global budget', async () => {
    const sim = await simulator({ provider: 'anthropic' });
    const store = new MemoryBudgetStore();
    const common = {
      limits: { rpm: 10, itpm: 1_000_000, otpm: 1_000_000 },
      store,
      key: 'tenants',
      tenantShare: 0.5,
      // Room for the arrival lag a burst on a full bucket pays (arrivalLagMs), not for a 12 s slot.
      maxWaitMs: 1000,
      retry: false as const,
    };
    const acme = anthropicPolicy({ ...common, tenant: 'acme' });
    const globex = anthropicPolicy({ ...common, tenant: 'globex' });
    const acmeClient = client(sim, acme);
    const globexClient = client(sim, globex);
    // Acme's share is 5 requests a minute: the 6th would wait about 12 s.
    for (let i = 0; i < 5; i++) await wrap(acme).execute(() => acmeClient.messages.create(params));
    await expect(
      wrap(acme).execute(() => acmeClient.messages.create(params)),
    ).rejects.toBeInstanceOf(RateLimitExceededError);
    // Globex still has its own 5, which the global 10 holds.
    for (let i = 0; i < 5; i++)
      await wrap(globex).execute(() => globexClient.messages.create(params));
    const limits = (await globex.inspect()).limits.filter((d) => d.name === 'rpm');
    const global = limits.find((d) => !d.key.includes(':tenant:'));
    const tenant = limits.find((d) => d.key.includes(':tenant:globex'));
    expect(global?.limit).toBe(10);
    expect(tenant?.limit).toBe(5);
    expect(global?.available).toBe(0);
    expect(tenant?.available).toBe(0);
    expect(sim.stats().requests).toBe(10);
  });

  it('an attempt past attemptMs is cut, settled and retried; the caller sees a timeout', async () => {
    const sim = await simulator({ provider: 'anthropic', latencyMs: 2000 });
    const policy = anthropicPolicy({
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      store: new MemoryBudgetStore(),
      timeout: { attemptMs: 200 },
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const outcomes: string[] = [];
    policy.onSettle((e) => outcomes.push(e.outcome));
    const started = Date.now();
    const error = await wrap(policy)
      .execute(() => client(sim, policy).messages.create(params))
      .catch((e: unknown) => e);
    expect(classifyError(error).kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1900);
    // Two attempts, each sent and each settled (as failed network calls, input charged).
    expect(outcomes).toEqual(['network-error', 'network-error']);
    expect((await policy.inspect()).circuit.lastFailure).toBeDefined();
    await new Promise((r) => setTimeout(r, 2100));
    expect(sim.stats().requests).toBe(2);
  });

  it('where output counts as generated, the reservation falls from max_tokens to what calls produce', async () => {
    const sim = await simulator({ provider: 'anthropic', outputTokens: 40 });
    const policy = anthropicPolicy({
      tier: 'build',
      model: 'claude-sonnet-4-6',
      store: new MemoryBudgetStore(),
    });
    const reservedOutput: number[] = [];
    policy.onSettle((e) => reservedOutput.push(e.reserved[e.dimensions.indexOf('otpm')]!));
    const c = client(sim, policy);
    for (let i = 0; i < 10; i++)
      await wrap(policy).execute(() => c.messages.create({ ...params, max_tokens: 1024 }));
    // max_tokens before any output is known; twice the largest until eight are; then the recent
    // outputs' 90th percentile.
    expect(reservedOutput).toEqual([1024, 80, 80, 80, 80, 80, 80, 80, 40, 40]);
  });
});
