import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderEngine } from './exchange.js';
import type { ScriptStep } from './faults.js';
import {
  type RateDimension,
  resolveOptions,
  type SimulatedProvider,
  type SimulatorOptions,
} from './options.js';
import type { SimulatorStats } from './stats.js';

/** A running simulator. */
export interface Simulator {
  /** Origin, e.g. `http://127.0.0.1:53211`: Anthropic's `baseURL`; OpenAI's is `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  readonly provider: SimulatedProvider;
  /** Counters, per-dimension accounting and the 100 ms time series; JSON-serialisable. */
  stats(): SimulatorStats;
  /**
   * Exact units available on a dimension now (fractional; negative while output counted as
   * generated is in debt); `undefined` when unlimited. `modelClass` picks a class's buckets;
   * without it, the only class in use (an `InvalidArgumentError` when several are).
   */
  available(dimension: RateDimension, modelClass?: string): number | undefined;
  /** Appends scripted responses for the next requests that reach the model. */
  script(...steps: readonly ScriptStep[]): void;
  /** Stops accepting connections, drops open ones and ends every wait. */
  close(): Promise<void>;
}

/** Starts a simulator on `host:port` (127.0.0.1 and a free port by default). */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const provider = new ProviderEngine(resolved);
  const closing = new AbortController();

  const server = createServer((req, res) => {
    handleRequest(provider, resolved.maxBodyBytes, closing.signal, req, res);
  });
  // Malformed HTTP (bad request line, oversized headers) still gets a provider-shaped error.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const reply = provider.wire.error(
      'invalid_request',
      tooLarge ? 'Request headers too large' : 'Malformed HTTP request',
    );
    const body = JSON.stringify(reply.body);
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  let closed: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    port,
    provider: resolved.provider,
    stats: () => provider.snapshot(),
    available: (dimension, modelClass) => provider.available(dimension, modelClass),
    script: (...steps) => provider.faults.push(...steps),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort(new Error('simulator closed'));
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function handleRequest(
  provider: ProviderEngine,
  maxBodyBytes: number,
  closing: AbortSignal,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error('client closed the connection'));
  const onClosing = () => controller.abort(closing.reason);
  closing.addEventListener('abort', onClosing, { once: true });
  res.on('close', () => {
    closing.removeEventListener('abort', onClosing);
    if (!res.writableFinished) abort();
  });
  res.on('error', () => {});

  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBodyBytes) {
      // Keep draining so the client can read the 413 instead of a reset.
      tooLarge = true;
      chunks.length = 0;
    } else chunks.push(chunk);
  });
  req.on('error', abort);
  req.on('end', () => {
    if (tooLarge) {
      provider.countRequest();
      provider.sendError(res, provider.wire.error('request_too_large'));
      return;
    }
    provider
      .handle({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
        res,
        signal: controller.signal,
      })
      .catch(() => {
        // A bug must not take the server down: answer 500 if still possible, else drop.
        if (!res.headersSent) provider.sendError(res, provider.wire.error('server_error'));
        else res.destroy();
      });
  });
}
