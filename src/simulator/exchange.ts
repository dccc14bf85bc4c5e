import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { sleep } from '../clock.js';
import { anthropicWire } from './anthropic-wire.js';
import { type FaultDecision, FaultPlan } from './faults.js';
import { drawTiming } from './latency.js';
import { openaiWire } from './openai-wire.js';
import type { RateDimension, ResolvedOptions } from './options.js';
import { drawOutputTokens, generateOutput } from './output.js';
import { type InputUsage, PromptCache } from './prompt-cache.js';
import { type Costs, RateBuckets } from './rate-buckets.js';
import { type Cut, deliver, dropConnection } from './respond.js';
import { deriveSeed, type Random, randomId, seededRandom } from './rng.js';
import { type SimulatorStats, StatsRecorder } from './stats.js';
import type { ErrorReply, ResponseContext, WireFormat, WireRequest } from './wire.js';

/** One HTTP request as the server hands it over: the body is already read (and bounded). */
export interface IncomingExchange {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly res: ServerResponse;
  /** Aborts when the client goes away or the simulator closes. */
  readonly signal: AbortSignal;
}

/**
 * The simulated provider: validates a request, applies faults and the organisation's limits,
 * then answers as JSON or SSE, charging at the start and settling at the end.
 */
export class ProviderEngine {
  readonly wire: WireFormat;
  private readonly buckets: RateBuckets;
  private readonly cache: PromptCache;
  readonly faults: FaultPlan;
  private readonly stats: StatsRecorder;
  private readonly outputRandom: Random;
  private readonly latencyRandom: Random;
  private readonly idRandom: Random;

  constructor(private readonly options: ResolvedOptions) {
    const now = options.clock.now();
    this.wire = options.provider === 'anthropic' ? anthropicWire : openaiWire;
    this.buckets = new RateBuckets(options.limits, options.perSecond, now);
    this.cache = new PromptCache(options.promptCache.minTokens, options.promptCache.ttlMs);
    this.faults = new FaultPlan(
      options.faults,
      seededRandom(deriveSeed(options.seed, 'faults')),
      options.slowFirstByteMs,
    );
    this.stats = new StatsRecorder(options.provider, now, options.limits.concurrent);
    this.outputRandom = seededRandom(deriveSeed(options.seed, 'output'));
    this.latencyRandom = seededRandom(deriveSeed(options.seed, 'latency'));
    this.idRandom = seededRandom(deriveSeed(options.seed, 'ids'));
  }

  snapshot(): SimulatorStats {
    const now = this.options.clock.now();
    return this.stats.snapshot(now, this.buckets.snapshot(now));
  }

  /** Exact units available on a dimension now; `undefined` when it has no limit. */
  available(dimension: RateDimension): number | undefined {
    return this.buckets.available(dimension, this.options.clock.now());
  }

  /** Counts a request that never reaches `handle` (e.g. a body over the limit). */
  countRequest(): void {
    this.stats.request();
  }

  /** Sends an error reply with the request id, recording its status. */
  sendError(res: ServerResponse, reply: ErrorReply, extra: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    const requestId = this.requestId();
    const body =
      this.options.provider === 'anthropic' ? { ...reply.body, request_id: requestId } : reply.body;
    const payload = JSON.stringify(body);
    this.stats.status(reply.status);
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      [this.wire.requestIdHeader]: requestId,
      ...extra,
      ...reply.headers,
    });
    res.end(payload);
  }

  async handle(exchange: IncomingExchange): Promise<void> {
    const { res } = exchange;
    this.stats.request();
    const path = exchange.url.split('?')[0] ?? '';
    if (exchange.method !== 'POST' || path !== this.wire.path)
      return this.sendError(res, this.wire.notFound(exchange.method, path));
    const refused = this.wire.checkHeaders(exchange.headers, this.options.apiKey);
    if (refused) return this.sendError(res, refused);

    let json: unknown;
    try {
      json = JSON.parse(exchange.body.toString('utf8'));
    } catch {
      return this.sendError(
        res,
        this.wire.error('invalid_request', this.wire.malformedJsonMessage),
      );
    }
    const parsed = this.wire.parse(json, this.options.defaultMaxTokens);
    if (!parsed.ok) return this.sendError(res, parsed.error);
    const request = parsed.request;

    const fault = this.faults.next();
    if (
      fault.kind !== 'none' &&
      fault.kind !== 'slow_first_byte' &&
      fault.kind !== 'reset_mid_stream' &&
      fault.kind !== 'error_mid_stream'
    ) {
      this.stats.fault(fault.kind);
      if (fault.kind === 'connection_reset') {
        await dropConnection(res);
        return;
      }
      const now = this.options.clock.now();
      const headers = this.wire.rateLimitHeaders(this.buckets.snapshot(now), now);
      if (fault.kind === 'rate_limit') headers['retry-after'] = String(fault.retryAfterSeconds);
      return this.sendError(res, this.wire.error(fault.kind), headers);
    }
    await this.serve(exchange, request, fault);
  }

  private async serve(
    exchange: IncomingExchange,
    request: WireRequest,
    fault: FaultDecision,
  ): Promise<void> {
    const { res } = exchange;
    const { clock, limits } = this.options;
    const now = clock.now();

    if (limits.concurrent !== undefined && this.stats.inFlight >= limits.concurrent) {
      this.stats.rejectedByConcurrency(now);
      return this.sendError(
        res,
        this.wire.rateLimited(
          {
            model: request.model,
            dimension: 'concurrent',
            costs: {},
            snapshot: this.buckets.snapshot(now),
            retryAfterMs: 1000,
            concurrentLimit: limits.concurrent,
          },
          now,
        ),
      );
    }

    let input: InputUsage;
    let costs: Costs;
    let commitCache: ((at: number) => void) | undefined;
    if (request.pieces) {
      const plan = this.cache.plan(request.model, request.pieces, now);
      input = plan.usage;
      commitCache = plan.commit;
      // ITPM counts uncached input and cache writes; cache reads are free of the limit.
      costs = {
        rpm: 1,
        itpm: input.input_tokens + input.cache_creation_input_tokens,
        otpm: request.maxTokens,
      };
    } else {
      const prompt = request.promptTokens ?? 0;
      input = { input_tokens: prompt, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
      costs = { rpm: 1, tpm: prompt + request.maxTokens };
    }

    const admission = this.buckets.tryAdmit(costs, now);
    if (!admission.admitted) {
      this.stats.rejectedByLimits(admission.failing, now);
      return this.sendError(
        res,
        this.wire.rateLimited(
          {
            model: request.model,
            dimension: admission.failing[0] ?? 'rpm',
            costs,
            snapshot: this.buckets.snapshot(now),
            retryAfterMs: admission.retryAfterMs,
          },
          now,
        ),
      );
    }
    commitCache?.(now);
    this.stats.admit(
      costs,
      {
        input: input.input_tokens,
        cacheCreation: input.cache_creation_input_tokens,
        cacheRead: input.cache_read_input_tokens,
        charged: (costs.itpm ?? 0) + (request.pieces ? 0 : (request.promptTokens ?? 0)),
      },
      now,
    );
    if (fault.kind !== 'none') this.stats.fault(fault.kind);

    this.stats.enter();
    let produced = 0;
    try {
      produced = await this.respond(exchange, request, input, fault, (tokens) => {
        produced = tokens;
      });
    } catch {
      // The client went away or the simulator closed during a wait.
      this.stats.clientAbort();
      if (!res.destroyed) res.destroy();
    } finally {
      this.stats.leave();
      const at = clock.now();
      const unused = request.maxTokens - produced;
      const refunds: Partial<Record<RateDimension, number>> = {};
      if (costs.otpm !== undefined) refunds.otpm = unused;
      if (costs.tpm !== undefined) refunds.tpm = unused;
      for (const [dimension, units] of Object.entries(refunds) as [RateDimension, number][])
        this.buckets.settle(dimension, units, at);
      this.stats.settle(refunds, produced, at);
    }
  }

  /** Writes the response; returns the output tokens actually delivered. */
  private async respond(
    exchange: IncomingExchange,
    request: WireRequest,
    input: InputUsage,
    fault: FaultDecision,
    progress: (tokens: number) => void,
  ): Promise<number> {
    const { res, signal } = exchange;
    const { clock } = this.options;
    const tokens = drawOutputTokens(
      this.outputRandom,
      request.maxTokens,
      this.options.outputTokens,
    );
    const output = generateOutput(this.outputRandom, tokens, request.maxTokens);
    const timing = drawTiming(this.latencyRandom, this.options.latency);
    const context: ResponseContext = {
      id: randomId(this.idRandom, this.wire.responseIdPrefix),
      model: request.model,
      created: Math.floor(clock.now() / 1000),
      input,
      includeUsage: request.includeUsage,
    };
    if (fault.kind === 'slow_first_byte') await sleep(clock, fault.delayMs, signal);
    await sleep(clock, timing.firstTokenMs, signal);
    if (fault.kind === 'error_mid_stream' && !request.stream) {
      // The generation fails at its end: the whole time is spent, the provider's overloaded error
      // is answered instead of the message, and no output token was delivered.
      await sleep(clock, timing.perTokenMs * (output.tokens - 1), signal);
      const at = clock.now();
      this.sendError(
        res,
        this.wire.error('overloaded'),
        this.wire.rateLimitHeaders(this.buckets.snapshot(at), at),
      );
      return 0;
    }
    const now = clock.now();
    const headers = {
      [this.wire.requestIdHeader]: this.requestId(),
      ...this.wire.rateLimitHeaders(this.buckets.snapshot(now), now),
      ...this.wire.successHeaders(),
    };
    this.stats.status(200);
    return deliver({
      res,
      signal,
      clock,
      wire: this.wire,
      context,
      output,
      perTokenMs: timing.perTokenMs,
      stream: request.stream,
      cut: cutOf(fault),
      headers,
      progress,
    });
  }

  private requestId(): string {
    return this.wire.requestId(this.idRandom);
  }
}

/** How a fault cuts an admitted answer short, if it does. */
function cutOf(fault: FaultDecision): Cut | undefined {
  if (fault.kind === 'reset_mid_stream') return { kind: 'reset' };
  if (fault.kind === 'error_mid_stream') return { kind: 'error', error: 'overloaded' };
  return undefined;
}
