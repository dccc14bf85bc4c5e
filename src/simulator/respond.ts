import type { ServerResponse } from 'node:http';
import { type Clock, sleep } from '../clock.js';
import type { SimulatedOutput } from './output.js';
import type { ErrorKind, ResponseContext, WireFormat } from './wire.js';

/**
 * How an answer is cut short, halfway or (`atStart`) right after the headers, before any event:
 * the connection drops (body or stream), or the stream ends with the provider's error event
 * (streams only: a JSON answer that fails is an error reply, which the caller sends instead of
 * delivering).
 */
export type Cut =
  | { readonly kind: 'reset'; readonly atStart?: boolean }
  | { readonly kind: 'error'; readonly error: ErrorKind; readonly atStart?: boolean };

/** Everything needed to write one successful answer. */
export interface Delivery {
  readonly res: ServerResponse;
  /** Aborts the per-token waits when the client goes away. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly wire: WireFormat;
  readonly context: ResponseContext;
  readonly output: SimulatedOutput;
  readonly perTokenMs: number;
  readonly stream: boolean;
  /** A stream's headers leave at once, its first event this many ms later. */
  readonly firstEventDelayMs?: number;
  /** Cut the answer short halfway; absent for a complete answer. */
  readonly cut?: Cut;
  /**
   * The response headers, read when they are written: for a JSON answer once the whole output is
   * produced and `complete` has run, for a stream when it starts (before any output).
   */
  headers(): Readonly<Record<string, string>>;
  /** Reports the output tokens delivered so far (counted as generated, settled if cut short). */
  progress(tokens: number): void;
  /** The output is final (`tokens` in all): settle the request before a JSON answer is sent. */
  complete(tokens: number): void;
}

/**
 * Writes a successful answer, JSON or SSE, pacing tokens on the clock; the first token's wait is
 * the caller's. Returns the output tokens delivered.
 */
export async function deliver(delivery: Delivery): Promise<number> {
  const { res, signal, clock, wire, context, output, perTokenMs, cut, progress, complete } =
    delivery;
  const tokens = output.tokens;
  if (!delivery.stream) {
    // The first token's time is already spent.
    await sleep(clock, perTokenMs * (tokens - 1), signal);
    progress(tokens);
    // The headers of a JSON answer leave with its body: after the output is accounted for.
    complete(tokens);
    const payload = JSON.stringify(
      wire.json(context, {
        text: output.chunks.join(''),
        tokens,
        truncated: output.truncated,
      }),
    );
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...delivery.headers(),
    });
    if (cut?.kind === 'reset') {
      // Half a body, then the connection drops: the SDK sees a broken response.
      if (cut.atStart) {
        await closeAfterHeaders(res);
        return tokens;
      }
      res.write(payload.slice(0, Math.floor(payload.length / 2)));
      await dropConnection(res);
      return tokens;
    }
    res.end(payload);
    return tokens;
  }

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    ...delivery.headers(),
  });
  if (cut?.atStart) {
    if (cut.kind === 'reset') await closeAfterHeaders(res);
    else res.end(wire.streamError(cut.error));
    return 0;
  }
  if (delivery.firstEventDelayMs !== undefined) {
    // Node holds the headers for the first body write: they leave alone, the event later.
    res.flushHeaders();
    await sleep(clock, delivery.firstEventDelayMs, signal);
  }
  res.write(wire.streamStart(context));
  let delivered = 0;
  const cutAt = Math.floor(output.chunks.length / 2);
  for (const [i, chunk] of output.chunks.entries()) {
    if (cut && i === cutAt) {
      if (cut.kind === 'reset') await dropConnection(res);
      // The provider's error event ends the response normally: no reset, no final usage.
      else res.end(wire.streamError(cut.error));
      return delivered;
    }
    const chunkTokens = Math.ceil(chunk.length / 4);
    // The first token's time is already spent.
    await sleep(clock, perTokenMs * (i === 0 ? chunkTokens - 1 : chunkTokens), signal);
    if (res.destroyed) return delivered;
    res.write(wire.streamDelta(context, chunk));
    delivered += chunkTokens;
    progress(delivered);
  }
  complete(tokens);
  res.end(wire.streamEnd(context, { tokens, truncated: output.truncated }));
  return tokens;
}

/**
 * Resets the TCP connection (RST) once what was written so far has reached the socket, so the
 * client sees the partial response and then the reset, as with a real dropped connection.
 */
export async function dropConnection(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  // A raw empty write completes only after every earlier write has been handed to the kernel.
  await new Promise<void>((resolve) => socket.write('', () => resolve()));
  if (socket.destroyed) return;
  socket.resetAndDestroy();
}

/**
 * Sends the headers alone (Node holds them for the first body write), then closes the connection
 * (FIN, not RST: a reset could make the client's kernel discard the headers unread).
 */
async function closeAfterHeaders(res: ServerResponse): Promise<void> {
  res.flushHeaders();
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  await new Promise<void>((resolve) => socket.write('', () => resolve()));
  socket.destroy();
}
