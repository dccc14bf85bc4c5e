/**
 * What a provider pipeline does with the provider's errors, through the real SDKs against the
 * simulator: a 429 is retried after its `retry-after`, billing and client errors are never
 * retried nor sent to the fallback, a 529 storm opens the circuit and the fallback (an OpenAI
 * pipeline) answers while later calls fail fast without a request.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { anthropicPolicy, BrokenCircuitError, openaiPolicy, wrap } from '../../src/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { simulatorsClosedAfterEach } from '../support/simulators.js';

const simulator = simulatorsClosedAfterEach();

const params = {
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};

function anthropicPipeline(sim: Simulator, extra: Parameters<typeof anthropicPolicy>[0] = {}) {
  const policy = anthropicPolicy({
    limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
    store: new MemoryBudgetStore(),
    ...extra,
  });
  const client = new Anthropic({
    baseURL: sim.url,
    apiKey: 'test',
    maxRetries: 0,
    fetch: policy.fetch,
  });
  return { policy, client };
}

describe('provider pipeline and provider errors', () => {
  it('a 429 with retry-after 1 is retried once, at least 1 s later, as one logical call', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'rate_limit', retryAfterSeconds: 1 }, { kind: 'ok' }] },
    });
    // When each request left (the fetch under the pipeline, as the SDK's requests go through it).
    const sentAt: number[] = [];
    const { policy, client } = anthropicPipeline(sim, {
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        sentAt.push(performance.now());
        return globalThis.fetch(input, init);
      },
    });
    const retries: number[] = [];
    policy.onRetry((e) => retries.push(e.delayMs));
    const message = await wrap(policy).execute(() => client.messages.create(params));
    expect(message.content.length).toBeGreaterThan(0);
    expect(sim.stats().requests).toBe(2);
    expect(sentAt).toHaveLength(2);
    // A timer may fire a fraction of a ms before its whole ms.
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(999);
    expect(retries).toHaveLength(1);
  });

  it('insufficient_quota (OpenAI) is one request: no retry, no fallback', async () => {
    const sim = await simulator({
      provider: 'openai',
      faults: { script: [{ kind: 'insufficient_quota' }] },
    });
    let fellBack = 0;
    const policy = openaiPolicy({
      limits: { rpm: 600, tpm: 1_000_000 },
      store: new MemoryBudgetStore(),
      fallback: {
        to: () => {
          fellBack++;
          return 'backup';
        },
      },
    });
    const client = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    await expect(
      wrap(policy).execute(() =>
        client.chat.completions.create({
          model: 'gpt-4.1-mini',
          max_tokens: 32,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect(sim.stats().requests).toBe(1);
    expect(fellBack).toBe(0);
  });

  it('a 400 is one request: no retry, no fallback', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'invalid_request' }] },
    });
    let fellBack = 0;
    const { policy, client } = anthropicPipeline(sim, {
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      fallback: {
        to: () => {
          fellBack++;
          return 'backup';
        },
      },
    });
    await expect(wrap(policy).execute(() => client.messages.create(params))).rejects.toBeInstanceOf(
      Anthropic.BadRequestError,
    );
    expect(sim.stats().requests).toBe(1);
    expect(fellBack).toBe(0);
  });

  it('a 529 storm opens the circuit; the OpenAI fallback answers; later calls send nothing', async () => {
    const sim = await simulator({ provider: 'anthropic', faults: { rates: { overloaded: 1 } } });
    const backupSim = await simulator({ provider: 'openai' });
    const backup = openaiPolicy({
      limits: { rpm: 600, tpm: 1_000_000 },
      store: new MemoryBudgetStore(),
    });
    const openai = new OpenAI({
      baseURL: `${backupSim.url}/v1`,
      apiKey: 'test',
      maxRetries: 0,
      fetch: backup.fetch,
    });
    const { policy, client } = anthropicPipeline(sim, {
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 },
      circuit: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 },
      fallback: {
        to: () =>
          wrap(backup).execute(() =>
            openai.chat.completions.create({
              model: 'gpt-4.1-mini',
              max_tokens: 32,
              messages: [{ role: 'user', content: 'Hello' }],
            }),
          ),
      },
    });
    const answers: unknown[] = [];
    for (let i = 0; i < 4; i++)
      answers.push(await wrap(policy).execute(() => client.messages.create(params)));
    const snapshot = await policy.inspect();
    expect(snapshot.circuit.state).toBe('open');
    expect(snapshot.circuit.lastFailure?.status).toBe(529);
    // Three failures opened it; every later attempt failed fast without a request.
    expect(sim.stats().requests).toBe(3);
    expect(answers.every((a) => (a as { object?: string }).object === 'chat.completion')).toBe(
      true,
    );
    // Without a fallback the caller sees cockatiel's BrokenCircuitError.
    const bare = anthropicPipeline(sim, {
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      retry: false,
      circuit: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 },
    });
    await expect(
      wrap(bare.policy).execute(() => bare.client.messages.create(params)),
    ).rejects.toBeInstanceOf(Anthropic.InternalServerError);
    await expect(
      wrap(bare.policy).execute(() => bare.client.messages.create(params)),
    ).rejects.toBeInstanceOf(BrokenCircuitError);
  });
});
