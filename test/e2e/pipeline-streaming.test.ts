/**
 * Streams through a provider pipeline, with the real SDKs against the simulator: the budget is
 * settled on what the stream produced (equal to what the simulator counted), the bulkhead slot is
 * held until the stream ends (a bulkhead of 2 never lets a third stream run), a stream helper's
 * 429 before its first event is retried, and a stream broken mid-way reaches the breaker.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  anthropicPolicy,
  classifyError,
  openaiPolicy,
  StreamStartError,
  wrap,
} from '../../src/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';
import { simulatorsClosedAfterEach } from '../support/simulators.js';

const simulator = simulatorsClosedAfterEach();

const STREAMS = 6;

/** The Anthropic SDK pointed at `sim`, every request through `policy`'s fetch. */
function claudeThrough(sim: Simulator, policy: { readonly fetch: typeof globalThis.fetch }) {
  return new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, fetch: policy.fetch });
}

/** The limits of the Anthropic pipelines here: far above what the tests send. */
const LIMITS = { rpm: 600, itpm: 1_000_000, otpm: 100_000 };

/** A Sonnet call's parameters (for `messages.stream`, or `create` with `stream: true`). */
function paramsOf(maxTokens: number, content = 'Hi') {
  return {
    model: 'claude-sonnet-4-6',
    max_tokens: maxTokens,
    messages: [{ role: 'user' as const, content }],
  };
}

/** A streamed Sonnet call's parameters for `messages.create`. */
function streamOf(maxTokens: number, content = 'Hi') {
  return { ...paramsOf(maxTokens, content), stream: true as const };
}

describe('streams through provider pipelines', () => {
  it('Anthropic create({ stream: true }): settled output equals the simulator count; 2 at a time', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      latencyMs: { firstTokenMs: 5, perTokenMs: 1 },
    });
    const policy = anthropicPolicy({
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      bulkhead: { maxConcurrent: 2, maxQueue: 100 },
    });
    const settled: number[] = [];
    policy.onSettle((e) => settled.push(e.actual[2]!));
    const client = claudeThrough(sim, policy);
    const texts = await Promise.all(
      Array.from({ length: STREAMS }, async () => {
        const stream = await wrap(policy).execute(() =>
          client.messages.create(streamOf(40, 'Tell me a story.')),
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
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const client = claudeThrough(sim, policy);
    const stream = await wrap(policy).execute(() => client.messages.stream(paramsOf(30)));
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
    const outputs: number[] = [];
    policy.onSettle((e) => {
      settled.push(e.actual[1]!);
      outputs.push(e.usage?.outputTokens ?? Number.NaN);
    });
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
    // TPM counts input and output together; the output settled is the output the provider counted.
    expect(settled.reduce((a, b) => a + b, 0)).toBe(stats.tokens.input + stats.tokens.output);
    expect(outputs.reduce((a, b) => a + b, 0)).toBe(stats.tokens.output);
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
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      timeout: { attemptMs: 1000 },
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const settled: { outcome: string; output: number }[] = [];
    policy.onSettle((e) => settled.push({ outcome: e.outcome, output: e.actual[2]! }));
    let retries = 0;
    policy.onRetry(() => retries++);
    const client = claudeThrough(sim, policy);
    const started = Date.now();
    const stream = await wrap(policy).execute(() =>
      client.messages.create(streamOf(64, 'Tell me a story.')),
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

  it('Anthropic create({ stream: true }): an error event first is a failed attempt, retried as a 529; the retry streams whole', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      outputTokens: 30,
      faults: { script: [{ kind: 'error_at_stream_start' }, { kind: 'ok' }] },
    });
    const policy = anthropicPolicy({
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      bulkhead: { maxConcurrent: 1, maxQueue: 10 },
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const settled: { outcome: string; output: number }[] = [];
    policy.onSettle((e) => settled.push({ outcome: e.outcome, output: e.actual[2]! }));
    const retried: string[] = [];
    policy.onRetry((e) => retried.push(e.reason));
    const client = claudeThrough(sim, policy);
    const stream = await wrap(policy).execute(() => client.messages.create(streamOf(64)));
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    // The first event reaches the caller once: nothing lost, nothing repeated.
    expect(types[0]).toBe('message_start');
    expect(types.filter((t) => t === 'message_start')).toHaveLength(1);
    expect(types.at(-1)).toBe('message_stop');
    expect(retried).toEqual(['overloaded']);
    expect(sim.stats().requests).toBe(2);
    // The failed attempt kept its request and gave its output back; the slot came back.
    expect(settled).toEqual([
      { outcome: 'provider-error', output: 0 },
      { outcome: 'complete', output: sim.stats().tokens.output },
    ]);
    expect((await policy.inspect()).bulkhead).toEqual({ executing: 0, queued: 0 });
  });

  it('Anthropic messages.stream(): a body broken before its first event is retried', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'close_at_stream_start' }, { kind: 'ok' }] },
    });
    const policy = anthropicPolicy({
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const outcomes: string[] = [];
    policy.onSettle((e) => outcomes.push(e.outcome));
    const retried: string[] = [];
    policy.onRetry((e) => retried.push(e.reason));
    const client = claudeThrough(sim, policy);
    const stream = await wrap(policy).execute(() => client.messages.stream(paramsOf(30)));
    const message = await stream.finalMessage();
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(outcomes).toEqual(['broken', 'complete']);
    expect(retried).toEqual(['server']);
    expect(sim.stats().requests).toBe(2);
  });

  it('OpenAI stream: an error chunk first, or a body broken before any, is retried; the retry streams whole', async () => {
    const sim = await simulator({
      provider: 'openai',
      faults: {
        script: [
          { kind: 'error_at_stream_start' },
          { kind: 'close_at_stream_start' },
          { kind: 'ok' },
        ],
      },
    });
    const policy = openaiPolicy({
      limits: { rpm: 600, tpm: 1_000_000 },
      store: new MemoryBudgetStore(),
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const settled: { outcome: string; tokens: number }[] = [];
    policy.onSettle((e) => settled.push({ outcome: e.outcome, tokens: e.actual[1]! }));
    const retried: string[] = [];
    policy.onRetry((e) => retried.push(e.reason));
    const client = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const stream = await wrap(policy).execute(() =>
      client.chat.completions.create({
        model: 'gpt-4.1-mini',
        max_tokens: 40,
        stream: true,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    );
    const roles: string[] = [];
    let finished = false;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.role) roles.push(choice.delta.role);
      if (choice?.finish_reason) finished = true;
    }
    // The first chunk (the role) arrives once.
    expect(roles).toEqual(['assistant']);
    expect(finished).toBe(true);
    const stats = sim.stats();
    expect(stats.requests).toBe(3);
    expect(settled.map((e) => e.outcome)).toEqual(['provider-error', 'broken', 'complete']);
    expect(retried).toEqual(['server', 'server']);
    expect(settled[2]?.tokens).toBe(stats.tokens.input / 3 + stats.tokens.output);
  });

  it('a stream failing before its first event on every attempt: the caller gets StreamStartError, the breaker counts each', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { rates: { error_at_stream_start: 1 } },
    });
    const policy = anthropicPolicy({
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 5 },
      circuit: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
    });
    const client = claudeThrough(sim, policy);
    const error = await wrap(policy)
      .execute(() => client.messages.create(streamOf(40)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamStartError);
    expect(classifyError(error).kind).toBe('overloaded');
    expect(sim.stats().requests).toBe(2);
    const { circuit } = await policy.inspect();
    expect(circuit.state).toBe('open');
    expect(circuit.lastFailure).toMatchObject({ name: 'StreamStartError', status: 529 });
  });

  it("the caller's abort while a stream waits for its first event: not retried, settled as cancelled, the slot released", async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'slow_first_event', delayMs: 10_000 }] },
    });
    const policy = anthropicPolicy({
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const outcomes: string[] = [];
    policy.onSettle((e) => outcomes.push(e.outcome));
    let retries = 0;
    policy.onRetry(() => retries++);
    const client = claudeThrough(sim, policy);
    const controller = new AbortController();
    // Headers come at once; the first event would come 10 s later.
    const timer = setTimeout(() => controller.abort(), 1000);
    const started = Date.now();
    const error = await wrap(policy)
      .execute(() => client.messages.create(streamOf(40)), controller.signal)
      .catch((e: unknown) => e);
    clearTimeout(timer);
    expect(classifyError(error).kind).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(8000);
    expect(retries).toBe(0);
    expect(outcomes).toEqual(['cancelled']);
    expect(sim.stats().requests).toBe(1);
    expect((await policy.inspect()).bulkhead).toEqual({ executing: 0, queued: 0 });
  });

  it('the wait for the first event is not cut by attemptMs', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'slow_first_event', delayMs: 2000 }] },
    });
    const policy = anthropicPolicy({
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      timeout: { attemptMs: 500 },
      retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const outcomes: string[] = [];
    policy.onSettle((e) => outcomes.push(e.outcome));
    const client = claudeThrough(sim, policy);
    const stream = await wrap(policy).execute(() => client.messages.create(streamOf(40)));
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('message_stop');
    expect(outcomes).toEqual(['complete']);
    expect(sim.stats().requests).toBe(1);
  });

  it('a stream broken after its first event reaches the circuit breaker', async () => {
    const sim = await simulator({
      provider: 'anthropic',
      faults: { rates: { error_mid_stream: 1 } },
    });
    const policy = anthropicPolicy({
      limits: LIMITS,
      store: new MemoryBudgetStore(),
      circuit: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
    });
    const client = claudeThrough(sim, policy);
    for (let i = 0; i < 2; i++) {
      const stream = await wrap(policy).execute(() => client.messages.create(streamOf(40)));
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
