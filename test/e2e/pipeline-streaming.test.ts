/**
 * Streams through a provider pipeline, with the real SDKs against the simulator: the budget is
 * settled on what the stream produced (equal to what the simulator counted), the bulkhead slot is
 * held until the stream ends (a bulkhead of 2 never lets a third stream run), a stream helper's
 * 429 before its first event is retried, and a stream broken mid-way reaches the breaker.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { anthropicPolicy, openaiPolicy, wrap } from '../../src/index.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { simulatorsClosedAfterEach } from '../support/simulators.js';

const simulator = simulatorsClosedAfterEach();

const STREAMS = 6;

describe('streams through provider pipelines', () => {
  it('Anthropic create({ stream: true }): settled output equals the simulator count; 2 at a time', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      latencyMs: { firstTokenMs: 5, perTokenMs: 1 },
    });
    const policy = anthropicPolicy({
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      store: new MemoryBudgetStore(),
      bulkhead: { maxConcurrent: 2, maxQueue: 100 },
    });
    const settled: number[] = [];
    policy.onSettle((e) => settled.push(e.actual[2]!));
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const texts = await Promise.all(
      Array.from({ length: STREAMS }, async () => {
        const stream = await wrap(policy).execute(() =>
          client.messages.create({
            model: 'claude-sonnet-4-6',
            max_tokens: 40,
            stream: true,
            messages: [{ role: 'user', content: 'Tell me a story.' }],
          }),
        );
        let text = '';
        for await (const event of stream) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
            text += event.delta.text;
        }
        return text;
      }),
    );
    expect(texts.every((t) => t.length > 0)).toBe(true);
    const stats = sim.stats();
    expect(settled).toHaveLength(STREAMS);
    expect(settled.reduce((a, b) => a + b, 0)).toBe(stats.tokens.output);
    expect(stats.concurrency.peak).toBeLessThanOrEqual(2);
  });

  it('Anthropic messages.stream(): a 429 before the first event is retried', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'rate_limit', retryAfterSeconds: 0 }, { kind: 'ok' }] },
    });
    const policy = anthropicPolicy({
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      store: new MemoryBudgetStore(),
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const stream = await wrap(policy).execute(() =>
      client.messages.stream({
        model: 'claude-sonnet-4-6',
        max_tokens: 30,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    );
    const message = await stream.finalMessage();
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(sim.stats().requests).toBe(2);
  });

  it('OpenAI stream: usage is asked for, hidden from the caller, settled; 2 at a time', async () => {
    const sim = await simulator({
      provider: 'openai',
      latencyMs: { firstTokenMs: 5, perTokenMs: 1 },
    });
    const policy = openaiPolicy({
      limits: { rpm: 600, tpm: 1_000_000 },
      store: new MemoryBudgetStore(),
      bulkhead: { maxConcurrent: 2, maxQueue: 100 },
    });
    const settled: number[] = [];
    policy.onSettle((e) => settled.push(e.actual[1]!));
    const client = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    let usageChunks = 0;
    await Promise.all(
      Array.from({ length: STREAMS }, async () => {
        const stream = await wrap(policy).execute(() =>
          client.chat.completions.create({
            model: 'gpt-4.1-mini',
            max_tokens: 40,
            stream: true,
            messages: [{ role: 'user', content: 'Tell me a story.' }],
          }),
        );
        for await (const chunk of stream) if (chunk.usage) usageChunks++;
      }),
    );
    const stats = sim.stats();
    expect(usageChunks).toBe(0);
    expect(settled).toHaveLength(STREAMS);
    expect(settled.reduce((a, b) => a + b, 0)).toBe(stats.tokens.input + stats.tokens.output);
    expect(stats.concurrency.peak).toBeLessThanOrEqual(2);
  });

  it('attemptMs cuts a response whose headers are late (retried), and not a stream that runs past it', async () => {
    // Headers at once, then 40 tokens over 3 s: three times the attempt timeout.
    const sim = await simulator({
      provider: 'anthropic',
      outputTokens: 40,
      latencyMs: { firstTokenMs: 0, perTokenMs: 75 },
      faults: { script: [{ kind: 'slow_first_byte', delayMs: 5000 }, { kind: 'ok' }] },
    });
    const policy = anthropicPolicy({
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      store: new MemoryBudgetStore(),
      timeout: { attemptMs: 1000 },
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const settled: { outcome: string; output: number }[] = [];
    policy.onSettle((e) => settled.push({ outcome: e.outcome, output: e.actual[2]! }));
    let retries = 0;
    policy.onRetry(() => retries++);
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const started = Date.now();
    const stream = await wrap(policy).execute(() =>
      client.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: 'Tell me a story.' }],
      }),
    );
    let stopped = false;
    for await (const event of stream) if (event.type === 'message_stop') stopped = true;
    expect(stopped).toBe(true);
    expect(Date.now() - started).toBeGreaterThan(2 * 1000);
    expect(retries).toBe(1);
    // The late attempt settled as a failed one; the stream on the simulator's count.
    expect(settled).toEqual([
      { outcome: 'network-error', output: 0 },
      { outcome: 'complete', output: sim.stats().tokens.output },
    ]);
    expect(sim.stats().tokens.output).toBe(40);
  });

  it('a stream broken after its first event reaches the circuit breaker', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { rates: { error_mid_stream: 1 } },
    });
    const policy = anthropicPolicy({
      limits: { rpm: 600, itpm: 1_000_000, otpm: 100_000 },
      store: new MemoryBudgetStore(),
      circuit: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
    });
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    for (let i = 0; i < 2; i++) {
      const stream = await wrap(policy).execute(() =>
        client.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: 40,
          stream: true,
          messages: [{ role: 'user', content: 'Hi' }],
        }),
      );
      await expect(
        (async () => {
          for await (const _ of stream) {
            // read until the provider's error event ends it
          }
        })(),
      ).rejects.toThrow();
    }
    expect((await policy.inspect()).circuit.state).toBe('open');
  });
});
