import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamInterruptedError } from '../../src/errors/stream-interrupted-error.js';
import { type StreamOutcome, tapUsage } from '../../src/providers/tap-usage.js';
import type { Provider } from '../../src/providers/usage.js';
import { chunk, sse } from '../support/sse.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An Anthropic stream as the API documents it (the input fields repeated in message_delta). */
const ANTHROPIC_STREAM =
  sse('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'claude-opus-4-8',
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 472,
        cache_creation_input_tokens: 1200,
        cache_read_input_tokens: 8000,
        output_tokens: 2,
      },
    },
  }) +
  sse('content_block_start', {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'text', text: '' },
  }) +
  sse('ping', { type: 'ping' }) +
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: 'Hello,港口 🚀' },
  }) +
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: '! How can I help?' },
  }) +
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: {
      input_tokens: 472,
      cache_creation_input_tokens: 1200,
      cache_read_input_tokens: 8000,
      output_tokens: 15,
    },
  }) +
  sse('message_stop', { type: 'message_stop' });

const openaiChunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
  object: 'chat.completion.chunk',
  created: 1_741_569_952,
  model: 'gpt-4.1-2025-04-14',
  system_fingerprint: 'fp_6ec83003ad',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  usage: null,
});

/** An OpenAI stream with `include_usage`: one token per chunk, then the usage-only chunk. */
const OPENAI_USAGE_CHUNK = {
  id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
  object: 'chat.completion.chunk',
  created: 1_741_569_952,
  model: 'gpt-4.1-2025-04-14',
  system_fingerprint: 'fp_6ec83003ad',
  choices: [],
  usage: {
    prompt_tokens: 1117,
    completion_tokens: 4,
    total_tokens: 1121,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  },
};
const OPENAI_BODY =
  chunk(openaiChunk({ role: 'assistant', content: '', refusal: null })) +
  chunk(openaiChunk({ content: 'Hello' })) +
  chunk(openaiChunk({ content: ' there' })) +
  chunk(openaiChunk({ content: '!' })) +
  chunk(openaiChunk({}, 'stop'));
const OPENAI_STREAM = `${OPENAI_BODY}${chunk(OPENAI_USAGE_CHUNK)}${chunk('[DONE]')}`;

/** A body that delivers `parts` in order, then ends (or fails with `failure`). */
function body(parts: Uint8Array[], failure?: Error): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[i++];
      if (part) controller.enqueue(part);
      else if (failure) controller.error(failure);
      else controller.close();
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

async function run(
  provider: Provider,
  parts: Uint8Array[],
  options: { failure?: Error; hideUsageChunk?: boolean } = {},
): Promise<{ outcomes: StreamOutcome[]; text: string; failed?: unknown }> {
  const outcomes: StreamOutcome[] = [];
  const tapped = tapUsage(provider, body(parts, options.failure), (o) => outcomes.push(o), {
    hideUsageChunk: options.hideUsageChunk ?? false,
  });
  try {
    return { outcomes, text: await readAll(tapped) };
  } catch (failed) {
    return { outcomes, text: '', failed };
  }
}

function splitAt(text: string, cuts: number[]): Uint8Array[] {
  const bytes = encoder.encode(text);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.slice(from, cut));
    from = cut;
  }
  return out;
}

describe('tapUsage', () => {
  it('reads Anthropic usage from message_start and the cumulative message_delta', async () => {
    const { outcomes, text } = await run('anthropic', splitAt(ANTHROPIC_STREAM, []));
    expect(text).toBe(ANTHROPIC_STREAM);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      end: 'complete',
      complete: true,
      outputSoFar: 15,
      model: 'claude-opus-4-8',
      usage: {
        inputTokens: 472,
        outputTokens: 15,
        cacheCreationInputTokens: 1200,
        cacheReadInputTokens: 8000,
        limitInputTokens: 1672,
        totalInputTokens: 9672,
      },
    });
  });

  it('keeps the input figures of message_start when message_delta carries only output_tokens', async () => {
    const older = ANTHROPIC_STREAM.replace(
      /"usage":\{"input_tokens":472,"cache_creation_input_tokens":1200,"cache_read_input_tokens":8000,"output_tokens":15\}/,
      '"usage":{"output_tokens":15}',
    );
    expect(older).not.toBe(ANTHROPIC_STREAM);
    const { outcomes } = await run('anthropic', splitAt(older, []));
    expect(outcomes[0]?.usage).toMatchObject({ inputTokens: 472, outputTokens: 15 });
  });

  it('reads OpenAI usage from the final chunk, cached tokens apart', async () => {
    const { outcomes, text } = await run('openai', splitAt(OPENAI_STREAM, []));
    expect(text).toBe(OPENAI_STREAM);
    expect(outcomes).toEqual([
      expect.objectContaining({
        end: 'complete',
        outputSoFar: 4,
        usage: {
          inputTokens: 93,
          outputTokens: 4,
          cacheCreationInputTokens: 0,
          cacheReadInputTokens: 1024,
          limitInputTokens: 1117,
          totalInputTokens: 1117,
          reasoningTokens: 0,
        },
      }),
    ]);
  });

  it('counts OpenAI deltas when no usage comes, at least one token per chunk', async () => {
    const { outcomes } = await run('openai', splitAt(`${OPENAI_BODY}${chunk('[DONE]')}`, []));
    expect(outcomes[0]).toMatchObject({ end: 'complete', outputSoFar: 3 });
    expect(outcomes[0]?.usage).toBeUndefined();
  });

  it('forwards the same bytes and reads the same outcome however the body is split', async () => {
    for (const [provider, stream] of [
      ['anthropic', ANTHROPIC_STREAM],
      ['openai', OPENAI_STREAM],
    ] as const) {
      const whole = await run(provider, splitAt(stream, []));
      const length = encoder.encode(stream).length;
      for (let cut = 0; cut <= length; cut++) {
        const parts = await run(provider, splitAt(stream, [cut]));
        expect(parts.text).toBe(stream);
        expect(parts.outcomes).toEqual(whole.outcomes);
      }
    }
  });

  it('reads the same outcome under random splits, with or without the usage chunk hidden', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('anthropic' as const, 'openai' as const),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.boolean(),
        async (provider, raw, hide) => {
          const stream = provider === 'anthropic' ? ANTHROPIC_STREAM : OPENAI_STREAM;
          const length = encoder.encode(stream).length;
          const cuts = [...new Set(raw.map((n) => n % (length + 1)))].sort((a, b) => a - b);
          const whole = await run(provider, splitAt(stream, []));
          const parts = await run(provider, splitAt(stream, cuts), { hideUsageChunk: hide });
          expect(parts.outcomes).toEqual(whole.outcomes);
          const hidden = hide && provider === 'openai';
          expect(parts.text).toBe(hidden ? stream.replace(chunk(OPENAI_USAGE_CHUNK), '') : stream);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reports an Anthropic error event with the output before it', async () => {
    const cut = ANTHROPIC_STREAM.indexOf('event: content_block_stop');
    const failed =
      ANTHROPIC_STREAM.slice(0, cut) +
      sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const { outcomes } = await run('anthropic', splitAt(failed, []));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      end: 'provider-error',
      complete: false,
      error: { type: 'error', error: { type: 'overloaded_error' } },
      usage: { inputTokens: 472, outputTokens: 2 },
    });
    // Two deltas, 'Hello, 港口 🚀' and '! How can I help?': more than message_start's 2.
    expect(outcomes[0]?.outputSoFar).toBeGreaterThanOrEqual(8);
    expect(outcomes[0]?.outputSoFar).toBeLessThanOrEqual(20);
  });

  it('reports an OpenAI error chunk even when [DONE] follows it', async () => {
    const failed = `${chunk(openaiChunk({ content: 'Hel' }))}${chunk({
      error: { message: 'The server had an error', type: 'server_error', param: null, code: null },
    })}${chunk('[DONE]')}`;
    const { outcomes } = await run('openai', splitAt(failed, []));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      end: 'provider-error',
      complete: false,
      error: { error: { type: 'server_error' } },
    });
    // One chunk of output: at least a token, and the estimate of 'Hel' is 2.
    expect(outcomes[0]?.outputSoFar).toBe(2);
  });

  it('reports a body that ends without the end marker as incomplete', async () => {
    const cut = ANTHROPIC_STREAM.indexOf('event: message_delta');
    const { outcomes } = await run('anthropic', splitAt(ANTHROPIC_STREAM.slice(0, cut), []));
    expect(outcomes[0]).toMatchObject({ end: 'incomplete', complete: false });
  });

  it('reports a failed read as broken, once, and passes the failure on, typed', async () => {
    const cut = OPENAI_STREAM.indexOf('data', 10);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const { outcomes, failed } = await run('openai', splitAt(OPENAI_STREAM.slice(0, cut), []), {
      failure: reset,
    });
    expect(failed).toBeInstanceOf(StreamInterruptedError);
    expect((failed as StreamInterruptedError).cause).toBe(reset);
    expect((failed as StreamInterruptedError).end).toBe('broken');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ end: 'broken', error: reset, complete: false });
  });

  it('keeps a completed stream complete whatever happens to the connection after', async () => {
    const { outcomes } = await run('openai', splitAt(OPENAI_STREAM, []), {
      failure: new Error('reset after [DONE]'),
    });
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.end).toBe('complete');
  });

  it('reports a cancel by the consumer once, with the cancel reason', async () => {
    const outcomes: StreamOutcome[] = [];
    const controller = new AbortController();
    const tapped = tapUsage(
      'anthropic',
      body(splitAt(ANTHROPIC_STREAM, [400, 800])),
      (o) => outcomes.push(o),
      { signal: controller.signal },
    );
    const reader = tapped.getReader();
    await reader.read();
    const reason = new Error('stop');
    await reader.cancel(reason);
    controller.abort(new Error('aborted after the cancel'));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ end: 'cancelled', error: reason, complete: false });
  });

  it('reports the abort of the request signal as cancelled', async () => {
    const outcomes: StreamOutcome[] = [];
    const controller = new AbortController();
    const tapped = tapUsage(
      'openai',
      body(splitAt(OPENAI_STREAM, [200])),
      (o) => outcomes.push(o),
      { signal: controller.signal },
    );
    const reader = tapped.getReader();
    await reader.read();
    controller.abort(new Error('caller aborted'));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ end: 'cancelled', complete: false });
    await reader.cancel();
    expect(outcomes).toHaveLength(1);
  });

  it('ignores a throwing onEnd: the caller still reads the whole stream', async () => {
    const tapped = tapUsage('anthropic', body(splitAt(ANTHROPIC_STREAM, [])), () => {
      throw new Error('listener bug');
    });
    expect(await readAll(tapped)).toBe(ANTHROPIC_STREAM);
  });
});
