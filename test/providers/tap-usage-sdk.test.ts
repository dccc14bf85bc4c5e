/**
 * The real SDKs, a `fetch` that taps each response, and the simulator: the usage the tap reads
 * equals what the SDK reports and what the simulator counted, for JSON and streams, complete,
 * cut short by the provider's error event, broken, and abandoned by the caller.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it, vi } from 'vitest';
import { describeRequest, withStreamUsage } from '../../src/providers/request.js';
import { type StreamOutcome, tapUsage } from '../../src/providers/tap-usage.js';
import type { TokenCounter } from '../../src/providers/text-tokens.js';
import { type Provider, type Usage, usageFromJson } from '../../src/providers/usage.js';
import { countTokens, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { start } from '../simulator/helpers.js';

/** The simulator's own rule, delta by delta, as it counts what it delivered. */
const simCounter: TokenCounter = { count: countTokens };

interface Tap {
  readonly fetch: typeof fetch;
  /** One entry per stream outcome reported. */
  readonly outcomes: StreamOutcome[];
  /** Usage of each JSON response. */
  readonly jsonUsages: (Usage | undefined)[];
  /** Bodies as sent, after any rewrite. */
  readonly sentBodies: string[];
}

function tappingFetch(
  provider: Provider,
  options: { addStreamUsage?: boolean; counter?: TokenCounter } = {},
): Tap {
  const outcomes: StreamOutcome[] = [];
  const jsonUsages: (Usage | undefined)[] = [];
  const sentBodies: string[] = [];
  const tapped: typeof fetch = async (input, init) => {
    let body = init?.body;
    let hide = false;
    if (options.addStreamUsage && typeof body === 'string') {
      const rewritten = withStreamUsage(body);
      hide = rewritten !== body;
      body = rewritten;
    }
    if (typeof body === 'string') sentBodies.push(body);
    const response = await fetch(input, { ...init, body });
    const type = response.headers.get('content-type') ?? '';
    if (response.body && type.includes('text/event-stream')) {
      const stream = tapUsage(provider, response.body, (outcome) => outcomes.push(outcome), {
        ...(init?.signal ? { signal: init.signal } : {}),
        ...(options.counter ? { counter: options.counter } : {}),
        hideUsageChunk: hide,
      });
      return new Response(stream, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    if (type.includes('application/json'))
      jsonUsages.push(usageFromJson(provider, await response.clone().text()));
    return response;
  };
  return { fetch: tapped, outcomes, jsonUsages, sentBodies };
}

async function simulator(provider: Provider, extra: Partial<SimulatorOptions> = {}) {
  return start({ provider, outputTokens: { min: 20, max: 60 }, seed: 7, ...extra });
}

function anthropic(sim: Simulator, tap: Tap) {
  return new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, fetch: tap.fetch });
}

function openai(sim: Simulator, tap: Tap) {
  return new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'test', maxRetries: 0, fetch: tap.fetch });
}

const anthropicParams = {
  model: 'claude-sonnet-4-6',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'Tell me about token buckets, please.' }],
};
const openaiParams = {
  model: 'gpt-4o',
  max_completion_tokens: 200,
  messages: [{ role: 'user' as const, content: 'Tell me about token buckets, please.' }],
};

describe('tapUsage with the Anthropic SDK against the simulator', () => {
  it('reads the JSON usage the SDK returns and the simulator counted', async () => {
    const sim = await simulator('anthropic');
    const tap = tappingFetch('anthropic');
    const message = await anthropic(sim, tap).messages.create(anthropicParams);
    expect(tap.jsonUsages).toHaveLength(1);
    const usage = tap.jsonUsages[0];
    expect(usage?.inputTokens).toBe(message.usage.input_tokens);
    expect(usage?.outputTokens).toBe(message.usage.output_tokens);
    expect(usage?.limitInputTokens).toBe(
      sim.stats().dimensions.itpm?.charged ?? sim.stats().tokens.input,
    );
    expect(usage?.outputTokens).toBe(sim.stats().tokens.output);
    expect(usage?.inputTokens).toBe(sim.stats().tokens.input);
  });

  it('follows messages.stream() to the final usage', async () => {
    const sim = await simulator('anthropic');
    const tap = tappingFetch('anthropic');
    const final = await anthropic(sim, tap).messages.stream(anthropicParams).finalMessage();
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('complete');
    expect(outcome?.usage?.outputTokens).toBe(final.usage.output_tokens);
    expect(outcome?.usage?.inputTokens).toBe(final.usage.input_tokens);
    expect(outcome?.outputSoFar).toBe(sim.stats().tokens.output);
    expect(outcome?.usage?.inputTokens).toBe(sim.stats().tokens.input);
    expect(outcome?.model).toBe('claude-sonnet-4-6');
  });

  it('follows create({ stream: true }) iterated to the end', async () => {
    const sim = await simulator('anthropic');
    const tap = tappingFetch('anthropic');
    const stream = await anthropic(sim, tap).messages.create({ ...anthropicParams, stream: true });
    let output = 0;
    for await (const event of stream)
      if (event.type === 'message_delta') output = event.usage.output_tokens;
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    expect(tap.outcomes[0]).toMatchObject({ end: 'complete', outputSoFar: output });
    expect(output).toBe(sim.stats().tokens.output);
  });

  it('reports a provider error event mid-stream with the output delivered before it', async () => {
    const sim = await simulator('anthropic', { outputTokens: 40 });
    sim.script({ kind: 'error_mid_stream' });
    const tap = tappingFetch('anthropic', { counter: simCounter });
    const stream = await anthropic(sim, tap).messages.create({ ...anthropicParams, stream: true });
    const failure = await (async () => {
      try {
        for await (const _event of stream) {
          // read on
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('provider-error');
    expect(outcome?.error).toMatchObject({ error: { type: 'overloaded_error' } });
    expect(outcome?.complete).toBe(false);
    expect(outcome?.outputSoFar).toBe(20);
    expect(outcome?.outputSoFar).toBe(sim.stats().tokens.output);
  });

  it('reports a broken connection once, with what arrived', async () => {
    const sim = await simulator('anthropic', { outputTokens: 40 });
    sim.script({ kind: 'reset_mid_stream' });
    const tap = tappingFetch('anthropic', { counter: simCounter });
    const stream = await anthropic(sim, tap).messages.create({ ...anthropicParams, stream: true });
    await expect(async () => {
      for await (const _event of stream) {
        // read on
      }
    }).rejects.toThrow();
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('broken');
    expect(outcome?.error).toBeDefined();
    // What reached the client before the reset: at most what the simulator delivered.
    expect(outcome?.outputSoFar).toBeGreaterThanOrEqual(1);
    expect(outcome?.outputSoFar).toBeLessThanOrEqual(sim.stats().tokens.output);
  });

  it('reports a stream the caller stops iterating as cancelled, exactly once', async () => {
    const sim = await simulator('anthropic', {
      outputTokens: 60,
      latencyMs: { firstTokenMs: 0, perTokenMs: 20 },
    });
    const tap = tappingFetch('anthropic', { counter: simCounter });
    const stream = await anthropic(sim, tap).messages.create({ ...anthropicParams, stream: true });
    for await (const event of stream) if (event.type === 'content_block_delta') break;
    await vi.waitFor(() => expect(sim.stats().clientAborts).toBe(1));
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('cancelled');
    expect(outcome?.complete).toBe(false);
    expect(outcome?.outputSoFar).toBeGreaterThanOrEqual(1);
    expect(outcome?.outputSoFar).toBeLessThan(60);
    // Nothing reports twice, however the SDK tears the stream down (abort and cancel).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tap.outcomes).toHaveLength(1);
  });

  it('estimates the request it sees the SDK send', async () => {
    const sim = await simulator('anthropic');
    const tap = tappingFetch('anthropic');
    await anthropic(sim, tap).messages.create(anthropicParams);
    const description = describeRequest('anthropic', `${sim.url}/v1/messages`, tap.sentBodies[0]);
    expect(description).toMatchObject({
      kind: 'messages',
      model: 'claude-sonnet-4-6',
      maxTokens: 200,
      stream: false,
    });
    // The simulator counts 9 tokens for this prompt; the Anthropic estimate errs above.
    expect(sim.stats().tokens.input).toBe(9);
    expect(description.inputEstimate).toBeGreaterThanOrEqual(9);
    expect(description.inputEstimate).toBeLessThanOrEqual(30);
  });
});

describe('tapUsage with the OpenAI SDK against the simulator', () => {
  it('reads the JSON usage the SDK returns and the simulator counted', async () => {
    const sim = await simulator('openai');
    const tap = tappingFetch('openai');
    const completion = await openai(sim, tap).chat.completions.create(openaiParams);
    const usage = tap.jsonUsages[0];
    expect(usage?.totalInputTokens).toBe(completion.usage?.prompt_tokens);
    expect(usage?.outputTokens).toBe(completion.usage?.completion_tokens);
    expect(usage?.outputTokens).toBe(sim.stats().tokens.output);
    expect(usage?.limitInputTokens).toBe(sim.stats().tokens.input);
  });

  it('reads the final usage chunk of a stream that asked for it', async () => {
    const sim = await simulator('openai');
    const tap = tappingFetch('openai');
    const stream = await openai(sim, tap).chat.completions.create({
      ...openaiParams,
      stream: true,
      stream_options: { include_usage: true },
    });
    let reported: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) reported = chunk.usage;
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('complete');
    expect(outcome?.usage?.outputTokens).toBe(reported?.completion_tokens);
    expect(outcome?.usage?.totalInputTokens).toBe(reported?.prompt_tokens);
    expect(outcome?.outputSoFar).toBe(sim.stats().tokens.output);
  });

  it('asks for usage on a stream that did not, and hides the usage chunk from the caller', async () => {
    const sim = await simulator('openai');
    const tap = tappingFetch('openai', { addStreamUsage: true });
    const stream = await openai(sim, tap).chat.completions.create({
      ...openaiParams,
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    // The caller sees what it asked for: every chunk has a choice, none is the usage chunk.
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(JSON.parse(tap.sentBodies[0] ?? '{}')).toMatchObject({
      stream_options: { include_usage: true },
    });
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('complete');
    expect(outcome?.usage?.outputTokens).toBe(sim.stats().tokens.output);
  });

  it('counts the deltas of a stream without usage', async () => {
    const sim = await simulator('openai');
    const tap = tappingFetch('openai', { counter: simCounter });
    const stream = await openai(sim, tap).chat.completions.create({
      ...openaiParams,
      stream: true,
    });
    for await (const _chunk of stream) {
      // read on
    }
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('complete');
    expect(outcome?.usage).toBeUndefined();
    expect(outcome?.outputSoFar).toBe(sim.stats().tokens.output);
  });

  it('reports a provider error chunk mid-stream with the output delivered before it', async () => {
    const sim = await simulator('openai', { outputTokens: 40 });
    sim.script({ kind: 'error_mid_stream' });
    const tap = tappingFetch('openai', { counter: simCounter });
    const stream = await openai(sim, tap).chat.completions.create({
      ...openaiParams,
      stream: true,
      stream_options: { include_usage: true },
    });
    await expect(async () => {
      for await (const _chunk of stream) {
        // read on
      }
    }).rejects.toBeInstanceOf(OpenAI.APIError);
    await vi.waitFor(() => expect(tap.outcomes).toHaveLength(1));
    const [outcome] = tap.outcomes;
    expect(outcome?.end).toBe('provider-error');
    expect(outcome?.usage).toBeUndefined();
    expect(outcome?.outputSoFar).toBe(20);
    expect(outcome?.outputSoFar).toBe(sim.stats().tokens.output);
  });
});
