import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstEvent } from '../../src/providers/first-event.js';
import { chunk, sse } from '../support/sse.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const ANTHROPIC_STREAM =
  ': a comment fires no event\n\n' +
  sse('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_1',
      model: 'claude-sonnet-4-6',
      usage: { input_tokens: 9, output_tokens: 1 },
    },
  }) +
  sse('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: 'Hello, 港口 🚀' },
  }) +
  sse('message_stop', { type: 'message_stop' });

const OVERLOADED = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };

/** A body that yields `chunks`, then ends or (with `failure`) errors. */
function body(chunks: readonly Uint8Array[], failure?: Error): ReadableStream<Uint8Array> {
  const queue = [...chunks];
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next) controller.enqueue(next);
      else if (failure) controller.error(failure);
      else controller.close();
    },
  });
}

/** `text`'s bytes cut at `cuts` (offsets, any order; out of range ones ignored). */
function split(text: string, cuts: readonly number[]): Uint8Array[] {
  const bytes = encoder.encode(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) parts.push(bytes.slice(from, to));
    from = Math.max(from, to);
  }
  return parts;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  for await (const part of stream) text += decoder.decode(part, { stream: true });
  return text + decoder.decode();
}

describe('firstEvent', () => {
  it('hands over a stream that began with every byte once, however the body is cut', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        const began = await firstEvent('anthropic', body(split(ANTHROPIC_STREAM, cuts)));
        expect(began.end).toBeUndefined();
        if (began.end !== undefined) return;
        expect(await readAll(began.body)).toBe(ANTHROPIC_STREAM);
      }),
    );
  });

  it('reads no further than the chunk that completes the first event', async () => {
    // Bytes up to the blank line that ends message_start (the comment before it is no event).
    const firstEnd = encoder.encode(
      ANTHROPIC_STREAM.slice(0, ANTHROPIC_STREAM.indexOf('\n\n', 30) + 2),
    ).length;
    const parts = split(ANTHROPIC_STREAM, [10, firstEnd - 1, firstEnd, firstEnd + 20]);
    let pulled = 0;
    // No queue ahead of the reader: a chunk is pulled only when read.
    const counted = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const next = parts[pulled++];
          if (next) controller.enqueue(next);
          else controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const began = await firstEvent('anthropic', counted);
    expect(began.end).toBeUndefined();
    expect(pulled).toBe(3);
    if (began.end === undefined) expect(await readAll(began.body)).toBe(ANTHROPIC_STREAM);
  });

  it("reports the provider's error event first (Anthropic), with its body", async () => {
    const failed = await firstEvent(
      'anthropic',
      body(split(sse('error', OVERLOADED) + sse('message_stop', {}), [7])),
    );
    expect(failed).toEqual({ end: 'provider-error', providerError: OVERLOADED });
  });

  it("reports OpenAI's error chunk first, with its body", async () => {
    const error = { error: { message: 'The server had an error', type: 'server_error' } };
    const failed = await firstEvent('openai', body(split(chunk(error) + chunk('[DONE]'), [3])));
    expect(failed).toEqual({ end: 'provider-error', providerError: error });
  });

  it('reports a body that ends before any event (a comment and half a block are none)', async () => {
    const ended = await firstEvent('openai', body(split(': keep-alive\n\ndata: {"id"', [5])));
    expect(ended).toEqual({ end: 'incomplete' });
  });

  it('reports a body that breaks before any event, with the read error', async () => {
    const reset = new TypeError('terminated');
    const broken = await firstEvent('anthropic', body(split('event: message_start\n', []), reset));
    expect(broken).toEqual({ end: 'broken', error: reset });
  });

  it('passes a break after the first event on to the reader of the stream handed over', async () => {
    const reset = new TypeError('terminated');
    const began = await firstEvent('anthropic', body(split(ANTHROPIC_STREAM, [120]), reset));
    if (began.end !== undefined) throw new Error('expected the stream to begin');
    await expect(readAll(began.body)).rejects.toBe(reset);
  });
});
