/**
 * How a provider pipeline waits for budget, through the real SDK against the simulator: a wait
 * longer than `maxWaitMs` is refused once (no retry, no breaker failure, a fallback trigger), the
 * wait for the provider's first answer counts toward `maxWaitMs`, and the events report whole
 * milliseconds.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { anthropicPolicy, RateLimitExceededError, wrap } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';

const sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};

async function pipeline(
  simOptions: Parameters<typeof startSimulator>[0],
  extra: Parameters<typeof anthropicPolicy>[0],
) {
  const sim = await startSimulator(simOptions);
  sims.push(sim);
  const policy = anthropicPolicy({ store: new MemoryBudgetStore(), ...extra });
  const client = new Anthropic({
    baseURL: sim.url,
    apiKey: 'test',
    maxRetries: 0,
    fetch: policy.fetch,
  });
  return { sim, policy, client };
}

describe('a pipeline waiting for budget', () => {
  it('refuses a wait beyond maxWaitMs once: no retry, the circuit stays closed, the fallback answers', async () => {
    const { sim, policy, client } = await pipeline(
      { provider: 'anthropic' },
      {
        // One request a minute: the second call would wait about a minute.
        limits: { rpm: 1, itpm: 1_000_000, otpm: 100_000 },
        maxWaitMs: 200,
        circuit: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 },
      },
    );
    const retries: unknown[] = [];
    policy.onRetry((e) => retries.push(e));
    await wrap(policy).execute(() => client.messages.create(params));
    const refused = await wrap(policy)
      .execute(() => client.messages.create(params))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitExceededError);
    expect((refused as RateLimitExceededError).retryAfterMs).toBeGreaterThan(200);
    expect(retries).toEqual([]);
    expect(sim.stats().requests).toBe(1);
    expect((await policy.inspect()).circuit.state).toBe('closed');

    const withFallback = await pipeline(
      { provider: 'anthropic' },
      {
        limits: { rpm: 1, itpm: 1_000_000, otpm: 100_000 },
        maxWaitMs: 200,
        fallback: { to: (error) => (error instanceof RateLimitExceededError ? 'later' : 'other') },
      },
    );
    await wrap(withFallback.policy).execute(() => withFallback.client.messages.create(params));
    const answer = await wrap(withFallback.policy).execute(() =>
      withFallback.client.messages.create(params),
    );
    expect(answer).toBe('later');
  });

  it("counts the wait for the provider's first answer toward maxWaitMs", async () => {
    // The first request takes 3 s to answer; a second call may wait 300 ms in all.
    const { sim, policy, client } = await pipeline(
      { provider: 'anthropic', latencyMs: 3000 },
      { limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 }, maxWaitMs: 300, retry: false },
    );
    const first = wrap(policy).execute(() => client.messages.create(params));
    // Let the first request reach the simulator before the second asks.
    while (sim.stats().requests === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    const throttled: number[] = [];
    policy.onThrottle((e) => throttled.push(e.waitedMs));
    await wrap(policy).execute(() => client.messages.create(params));
    const waited = Date.now() - started;
    // It went without the first answer, after its 300 ms, not after the 3 s (its own answer
    // takes 3 s more).
    expect(waited).toBeGreaterThanOrEqual(3290);
    expect(waited).toBeLessThan(5500);
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toBeGreaterThanOrEqual(290);
    await first;
  });

  it('reports waits and durations in whole milliseconds, and no throttle for a call that did not wait', async () => {
    const { policy, client } = await pipeline(
      { provider: 'anthropic' },
      { limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 } },
    );
    const throttled: number[] = [];
    const durations: number[] = [];
    policy.onThrottle((e) => throttled.push(e.waitedMs));
    policy.onSuccess((e) => durations.push(e.duration));
    policy.onFailure((e) => durations.push(e.duration));
    for (let i = 0; i < 3; i++) await wrap(policy).execute(() => client.messages.create(params));
    expect(durations).toHaveLength(3);
    for (const d of durations) expect(Number.isInteger(d)).toBe(true);
    // 600 rpm with a bucket of 600: nobody waits.
    expect(throttled).toEqual([]);
  });
});
