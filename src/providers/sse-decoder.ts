/**
 * An incremental server-sent events decoder (the WHATWG event-stream rules): bytes in any
 * chunking, UTF-8 split across chunks, CR, LF or CRLF line ends (a CRLF split across chunks
 * included), comments, multi-line data. Pure: no I/O, no clock.
 */

/** One block of the stream, up to and including the blank line that ends it. */
export interface SseBlock {
  /** The `event` field, when the block has one. */
  readonly event?: string;
  /** The `data` lines joined by `\n`; `undefined` when the block has none (no event fires). */
  readonly data?: string;
  /** The block's text as received, line ends included. */
  readonly raw: string;
}

const LF = 0x0a;
const CR = 0x0d;

export class SseDecoder {
  private readonly utf8 = new TextDecoder('utf-8');
  /** Text of the current, unfinished line. */
  private line = '';
  /** The last character seen was a CR: a LF at the start of the next chunk belongs to it. */
  private afterCr = false;
  private raw = '';
  private event: string | undefined;
  private data: string[] | undefined;

  /** Feeds bytes; returns the blocks they complete. */
  push(chunk: Uint8Array): SseBlock[] {
    return this.pushText(this.utf8.decode(chunk, { stream: true }));
  }

  /** Feeds decoded text; returns the blocks it completes. */
  pushText(text: string): SseBlock[] {
    const blocks: SseBlock[] = [];
    let start = 0;
    if (this.afterCr) {
      this.afterCr = false;
      if (text.startsWith('\n')) {
        this.raw += '\n';
        start = 1;
      }
    }
    let i = start;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) {
        i++;
        continue;
      }
      let end = i + 1;
      if (c === CR) {
        if (i + 1 === text.length) this.afterCr = true;
        else if (text.charCodeAt(i + 1) === LF) end = i + 2;
      }
      const line = this.line + text.slice(start, i);
      this.line = '';
      this.raw += line + text.slice(i, end);
      this.takeLine(line, blocks);
      start = end;
      i = end;
    }
    this.line += text.slice(start);
    return blocks;
  }

  /**
   * Ends the stream: returns the text of an unfinished block, which per the rules fires no
   * event, so that a caller forwarding blocks can forward it too.
   */
  end(): string {
    const tail = this.utf8.decode();
    const rest = this.raw + this.line + tail;
    this.raw = '';
    this.line = '';
    this.event = undefined;
    this.data = undefined;
    return rest;
  }

  private takeLine(line: string, blocks: SseBlock[]): void {
    if (line === '') {
      const block: { event?: string; data?: string; raw: string } = { raw: this.raw };
      if (this.event !== undefined) block.event = this.event;
      if (this.data !== undefined) block.data = this.data.join('\n');
      blocks.push(block);
      this.raw = '';
      this.event = undefined;
      this.data = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      if (this.data) this.data.push(value);
      else this.data = [value];
    } else if (field === 'event') this.event = value;
  }
}
