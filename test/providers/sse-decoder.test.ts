import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SseBlock, SseDecoder } from '../../src/providers/sse-decoder.js';

const encoder = new TextEncoder();

function decodeAll(chunks: Uint8Array[]): { blocks: SseBlock[]; tail: string } {
  const decoder = new SseDecoder();
  const blocks = chunks.flatMap((c) => decoder.push(c));
  return { blocks, tail: decoder.end() };
}

/** Splits `bytes` at the given sorted cut points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  return out;
}

const fieldText = fc
  .string({ unit: 'grapheme', maxLength: 12 })
  .map((s) => s.replace(/[\r\n]/g, ''));
const eventArb = fc.record({
  event: fc.option(fc.constantFrom('message_start', 'content_block_delta', 'error', 'ping'), {
    nil: undefined,
  }),
  data: fc.array(fieldText, { minLength: 0, maxLength: 3 }),
  comment: fc.boolean(),
});
const newline = fc.constantFrom('\n', '\r\n', '\r');

/** Serialises events with a random line end per line; returns the text and the expected blocks. */
const streamArb = fc
  .array(fc.tuple(eventArb, fc.array(newline, { minLength: 8, maxLength: 8 })), { maxLength: 6 })
  .map((events) => {
    let text = '';
    const expected: { event?: string; data?: string }[] = [];
    for (const [e, ends] of events) {
      let i = 0;
      const line = (s: string) => {
        let end = ends[i++ % ends.length] as string;
        // A CR end then an empty line with a LF end would read as one CRLF.
        if (s === '' && end === '\n' && text.endsWith('\r')) end = '\r\n';
        text += s + end;
      };
      if (e.comment) line(': keep-alive');
      if (e.event !== undefined) line(`event: ${e.event}`);
      for (const d of e.data) line(`data: ${d}`);
      line('');
      const block: { event?: string; data?: string } = {};
      if (e.event !== undefined) block.event = e.event;
      if (e.data.length > 0) block.data = e.data.join('\n');
      expected.push(block);
    }
    return { text, expected };
  });

const strip = (blocks: SseBlock[]) =>
  blocks.map(({ event, data }) => ({
    ...(event === undefined ? {} : { event }),
    ...(data === undefined ? {} : { data }),
  }));

describe('SseDecoder', () => {
  it('reads events, multi-line data, comments and every kind of line end', () => {
    const text =
      ': hello\r\nevent: message_start\r\ndata: {"a":1}\r\n\r\ndata: line one\ndata: line two\n\nevent: ping\rdata:no-space\r\r';
    const { blocks, tail } = decodeAll([encoder.encode(text)]);
    expect(strip(blocks)).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { data: 'line one\nline two' },
      { event: 'ping', data: 'no-space' },
    ]);
    expect(blocks.map((b) => b.raw).join('') + tail).toBe(text);
  });

  it('gives a block without data lines no data (no event fires)', () => {
    const { blocks } = decodeAll([encoder.encode('event: ping\n\n: only a comment\n\n')]);
    expect(strip(blocks)).toEqual([{ event: 'ping' }, {}]);
  });

  it('keeps an unfinished block out of the events and returns its text at the end', () => {
    const { blocks, tail } = decodeAll([encoder.encode('data: done\n\ndata: cut sho')]);
    expect(strip(blocks)).toEqual([{ data: 'done' }]);
    expect(tail).toBe('data: cut sho');
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = encoder.encode('data: 港口 🚀\n\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const { blocks } = decodeAll(split(bytes, [cut]));
      expect(strip(blocks)).toEqual([{ data: '港口 🚀' }]);
    }
  });

  it('gives the same blocks however the bytes are split (every single cut, random cuts)', () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { maxLength: 12 }), ({ text, expected }, raw) => {
        const bytes = encoder.encode(text);
        const whole = decodeAll([bytes]);
        expect(strip(whole.blocks)).toEqual(expected);
        expect(whole.blocks.map((b) => b.raw).join('') + whole.tail).toBe(text);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const parts = decodeAll(split(bytes, [cut]));
          expect(strip(parts.blocks)).toEqual(expected);
          expect(parts.blocks.map((b) => b.raw).join('') + parts.tail).toBe(text);
        }
        const cuts = [...new Set(raw.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
        expect(strip(decodeAll(split(bytes, cuts)).blocks)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});
