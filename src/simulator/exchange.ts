import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { modelClassOf } from '../../policies/models.js';
import { sleep } from '../clock.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { firstOfNextMonthUtc } from '../providers/classify.js';
import { anthropicWire } from './anthropic-wire.js';
import { type FaultDecision, FaultPlan } from './faults.js';
import { drawTiming } from './latency.js';
import { openaiWire } from './openai-wire.js';
import type { RateDimension, ResolvedOptions, SimulatorLimits } from './options.js';
import { drawOutputTokens, generateOutput } from './output.js';
import { type InputUsage, PromptCache } from './prompt-cache.js';
import { type Costs, RateBuckets } from './rate-buckets.js';
import { type Cut, deliver, dropConnection } from './respond.js';
import { deriveSeed, type Random, randomId, seededRandom } from './rng.js';
import { type ClassStats, type SimulatorStats, StatsRecorder } from './stats.js';
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
  /** One set of buckets per model class, created when the class is first used. */
  private readonly classes = new Map<string, RateBuckets>();
  private readonly cache: PromptCache;
  readonly faults: FaultPlan;
  private readonly stats: StatsRecorder;
  private readonly outputRandom: Random;
  private readonly latencyRandom: Random;
  private readonly idRandom: Random;
  private readonly headerRandom: Random;
  /** While the clock is before this instant, the spend cap refuses every request. */
  private spendCapUntil: number | undefined;

  constructor(private readonly options: ResolvedOptions) {
    const now = options.clock.now();
    this.wire = options.provider === 'anthropic' ? anthropicWire : openaiWire;
    // Named classes exist from the start, so their buckets and the background's draw do too.
    for (const name of Object.keys(options.modelClasses)) this.bucketsOf(name, now);
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
    this.headerRandom = seededRandom(deriveSeed(options.seed, 'headers'));
  }

  /** The bucket class of a model: its preset class, else its own name. */
  classOf(model: string): string {
    return modelClassOf(this.options.provider, model) ?? model;
  }

  private limitsOf(modelClass: string): SimulatorLimits {
    return this.options.modelClasses[modelClass] ?? this.options.limits;
  }

  private bucketsOf(modelClass: string, now: number): RateBuckets {
    let buckets = this.classes.get(modelClass);
    if (!buckets) {
      const { perSecond, background } = this.options;
      buckets = new RateBuckets(this.limitsOf(modelClass), perSecond, now, background);
      this.classes.set(modelClass, buckets);
    }
    return buckets;
  }

  /**
   * The buckets `available()` and the stats' `dimensions` describe without a class: the only
   * class in use, or fresh buckets of `limits` before any request.
   */
  private soleBuckets(now: number): RateBuckets | undefined {
    if (this.classes.size === 1) return [...this.classes.values()][0];
    if (this.classes.size === 0)
      return new RateBuckets(this.options.limits, this.options.perSecond, now);
    return undefined;
  }

  snapshot(): SimulatorStats {
    const now = this.options.clock.now();
    const classes: Record<string, ClassStats> = {};
    for (const [name, buckets] of this.classes)
      classes[name] = this.stats.classStats(name, buckets.snapshot(now));
    const background: Partial<Record<RateDimension, number>> = {};
    for (const buckets of this.classes.values()) {
      for (const [d, units] of Object.entries(buckets.backgroundSpent(now)) as [
        RateDimension,
        number,
      ][])
        background[d] = (background[d] ?? 0) + units;
    }
    const sole = this.soleBuckets(now);
    return this.stats.snapshot(now, {
      sole: sole && this.classes.size === 0 ? sole.snapshot(now) : undefined,
      classes,
      background,
      spendCapUntil:
        this.spendCapUntil !== undefined && now < this.spendCapUntil
          ? this.spendCapUntil
          : undefined,
    });
  }

  /**
   * Exact units available on a dimension now; `undefined` when it has no limit. Without
   * `modelClass`, the only class in use (or `limits` before any request).
   */
  available(dimension: RateDimension, modelClass?: string): number | undefined {
    const now = this.options.clock.now();
    const buckets =
      modelClass === undefined
        ? this.soleBuckets(now)
        : (this.classes.get(modelClass) ??
          new RateBuckets(this.limitsOf(modelClass), this.options.perSecond, now));
    if (!buckets)
      throw new InvalidArgumentError(
        'modelClass',
        `one of ${[...this.classes.keys()].join(', ')}: several model classes are in use`,
        modelClass,
        'sim.available()',
      );
    return buckets.available(dimension, now);
  }

  /** Rate-limit headers of a class's buckets at `now`. */
  private headersAt(buckets: RateBuckets, now: number): Record<string, string> {
    return this.wire.rateLimitHeaders(buckets.snapshot(now), now, this.options.exactRemaining);
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
    const now = this.options.clock.now();
    const buckets = this.bucketsOf(this.classOf(request.model), now);

    // A reached spend cap refuses everything until it lifts; the script waits meanwhile.
    if (this.spendCapUntil !== undefined && now < this.spendCapUntil) {
      this.stats.spendCapRefused();
      return this.sendError(res, this.wire.error('spend_cap'), this.headersAt(buckets, now));
    }
    const fault = this.faults.next();
    if (
      fault.kind !== 'none' &&
      fault.kind !== 'slow_first_byte' &&
      fault.kind !== 'slow_first_event' &&
      fault.kind !== 'reset_mid_stream' &&
      fault.kind !== 'error_mid_stream' &&
      fault.kind !== 'error_at_stream_start' &&
      fault.kind !== 'close_at_stream_start'
    ) {
      this.stats.fault(fault.kind);
      if (fault.kind === 'connection_reset') {
        await dropConnection(res);
        return;
      }
      if (fault.kind === 'spend_cap') {
        this.spendCapUntil = firstOfNextMonthUtc(now);
        this.stats.spendCapRefused();
      }
      const headers = this.headersAt(buckets, now);
      if (fault.kind === 'rate_limit') headers['retry-after'] = String(fault.retryAfterSeconds);
      return this.sendError(res, this.wire.error(fault.kind), headers);
    }
    await this.serve(exchange, request, buckets, fault);
  }

  private async serve(
    exchange: IncomingExchange,
    request: WireRequest,
    buckets: RateBuckets,
    fault: FaultDecision,
  ): Promise<void> {
    const { res } = exchange;
    const { clock, limits, outputCounting } = this.options;
    const now = clock.now();
    const modelClass = this.classOf(request.model);

    if (limits.concurrent !== undefined && this.stats.inFlight >= limits.concurrent) {
      this.stats.rejectedByConcurrency(now);
      return this.sendError(
        res,
        this.wire.rateLimited(
          {
            model: request.model,
            dimension: 'concurrent',
            costs: {},
            snapshot: buckets.snapshot(now),
            retryAfterMs: 1000,
            concurrentLimit: limits.concurrent,
            ...this.headerless(),
          },
          now,
        ),
      );
    }

    let input: InputUsage;
    let costs: Costs;
    let minimums: Costs = {};
    let commitCache: ((at: number) => void) | undefined;
    /** Dimensions charged `max_tokens` at the start, the unused part given back at the end. */
    let reserved: RateDimension[];
    /** Dimensions charged each output token as it is generated. */
    let generated: RateDimension[];
    if (request.pieces) {
      const plan = this.cache.plan(request.model, request.pieces, now);
      input = plan.usage;
      commitCache = plan.commit;
      // ITPM counts uncached input and cache writes; cache reads are free of the limit.
      const itpm = input.input_tokens + input.cache_creation_input_tokens;
      if (outputCounting === 'max_tokens') {
        costs = { rpm: 1, itpm, otpm: request.maxTokens };
        reserved = ['otpm'];
        generated = [];
      } else {
        // Output is charged as generated: the bucket must hold a token to start.
        costs = { rpm: 1, itpm, otpm: 0 };
        minimums = { otpm: 1 };
        reserved = [];
        generated = ['otpm'];
      }
    } else {
      const prompt = request.promptTokens ?? 0;
      input = { input_tokens: prompt, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
      const tokens = prompt + request.maxTokens;
      costs = { rpm: 1, tpm: tokens, rpd: 1, tpd: tokens };
      reserved = ['tpm', 'tpd'];
      generated = [];
    }

    const admission = buckets.tryAdmit(costs, now, minimums);
    if (!admission.admitted) {
      this.stats.rejectedByLimits(modelClass, admission.failing, now);
      return this.sendError(
        res,
        this.wire.rateLimited(
          {
            model: request.model,
            dimension: admission.failing[0] ?? 'rpm',
            costs,
            snapshot: buckets.snapshot(now),
            retryAfterMs: admission.retryAfterMs,
            ...this.headerless(),
          },
          now,
        ),
      );
    }
    commitCache?.(now);
    this.stats.admit(
      modelClass,
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

    // The request's accounting: output charged as generated, reservations settled once.
    let produced = 0;
    let settled = false;
    const account: Accounting = {
      progress: (tokens) => {
        const delta = tokens - produced;
        produced = tokens;
        if (delta <= 0 || generated.length === 0) return;
        const at = clock.now();
        for (const dimension of generated) buckets.settle(dimension, -delta, at);
        this.stats.charge(modelClass, generated, delta);
      },
      settle: () => {
        if (settled) return;
        settled = true;
        const at = clock.now();
        const unused = request.maxTokens - produced;
        const refunds: Partial<Record<RateDimension, number>> = {};
        for (const dimension of reserved) {
          if (costs[dimension] === undefined) continue;
          refunds[dimension] = unused;
          buckets.settle(dimension, unused, at);
        }
        this.stats.settle(modelClass, refunds, produced, at);
      },
    };

    this.stats.enter();
    try {
      await this.respond(exchange, request, input, fault, buckets, account);
    } catch {
      // The client went away or the simulator closed during a wait.
      this.stats.clientAbort();
      if (!res.destroyed) res.destroy();
    } finally {
      this.stats.leave();
      account.settle();
    }
  }

  /** Whether this 429 comes without rate-limit headers (`headerless429`), seeded. */
  private headerless(): { headerless?: true; exact?: boolean } {
    const { headerless429, exactRemaining } = this.options;
    if (headerless429 > 0 && this.headerRandom() < headerless429) return { headerless: true };
    return { exact: exactRemaining };
  }

  /** Writes the response; returns the output tokens actually delivered. */
  private async respond(
    exchange: IncomingExchange,
    request: WireRequest,
    input: InputUsage,
    fault: FaultDecision,
    buckets: RateBuckets,
    account: Accounting,
  ): Promise<void> {
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
      id: randomId(this.idRandom, this.wire.responseIdPrefix, this.wire.responseIdLength),
      model: request.model,
      created: Math.floor(clock.now() / 1000),
      input,
      includeUsage: request.includeUsage,
    };
    if (fault.kind === 'slow_first_byte' || (fault.kind === 'slow_first_event' && !request.stream))
      await sleep(clock, fault.delayMs, signal);
    await sleep(clock, timing.firstTokenMs, signal);
    if (fault.kind === 'error_at_stream_start' && !request.stream) {
      // Refused before any output: the overloaded error at once, nothing generated.
      account.settle();
      this.sendError(res, this.wire.error('overloaded'), this.headersAt(buckets, clock.now()));
      return;
    }
    if (fault.kind === 'error_mid_stream' && !request.stream) {
      // The generation fails at its end: the whole time is spent, the provider's overloaded error
      // is answered instead of the message, and no output token was delivered.
      await sleep(clock, timing.perTokenMs * (output.tokens - 1), signal);
      account.settle();
      this.sendError(res, this.wire.error('overloaded'), this.headersAt(buckets, clock.now()));
      return;
    }
    this.stats.status(200);
    await deliver({
      res,
      signal,
      clock,
      wire: this.wire,
      context,
      output,
      perTokenMs: timing.perTokenMs,
      stream: request.stream,
      cut: cutOf(fault),
      ...(fault.kind === 'slow_first_event' && request.stream
        ? { firstEventDelayMs: fault.delayMs }
        : {}),
      // Read when written: the bucket as it stands when the response leaves (see `Delivery`).
      headers: () => ({
        [this.wire.requestIdHeader]: this.requestId(),
        ...this.headersAt(buckets, clock.now()),
        ...this.wire.successHeaders(),
      }),
      progress: account.progress,
      complete: (tokens) => {
        account.progress(tokens);
        account.settle();
      },
    });
  }

  private requestId(): string {
    return this.wire.requestId(this.idRandom);
  }
}

/** One admitted request's output accounting. */
interface Accounting {
  /** `tokens` output tokens produced so far: charges the ones counted as generated. */
  progress(tokens: number): void;
  /** Gives back the unused reservation; runs once, at the end or when the answer is cut. */
  settle(): void;
}

/** How a fault cuts an admitted answer short, if it does. */
function cutOf(fault: FaultDecision): Cut | undefined {
  if (fault.kind === 'reset_mid_stream') return { kind: 'reset' };
  if (fault.kind === 'error_mid_stream') return { kind: 'error', error: 'overloaded' };
  if (fault.kind === 'close_at_stream_start') return { kind: 'reset', atStart: true };
  if (fault.kind === 'error_at_stream_start')
    return { kind: 'error', error: 'overloaded', atStart: true };
  return undefined;
}
