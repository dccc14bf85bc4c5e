import type { IncomingHttpHeaders } from 'node:http';
import type { RateDimension } from './options.js';
import type { InputUsage } from './prompt-cache.js';
import type { Costs, DimensionSnapshot } from './rate-buckets.js';
import type { Random } from './rng.js';
import type { PromptPiece } from './tokens.js';

/** Errors the exchange may ask a wire format to render. */
export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'billing'
  | 'not_found'
  | 'request_too_large'
  | 'rate_limit'
  | 'insufficient_quota'
  | 'server_error'
  | 'bad_gateway'
  | 'service_unavailable'
  | 'overloaded'
  | 'spend_cap';

/** A complete error response. */
export interface ErrorReply {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

/** A request body that passed validation. */
export interface WireRequest {
  readonly model: string;
  /** Output budget: `max_tokens` (or the default for OpenAI requests without one). */
  readonly maxTokens: number;
  readonly stream: boolean;
  /** OpenAI `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** Anthropic: prompt pieces in cache order. */
  readonly pieces?: readonly PromptPiece[];
  /** OpenAI: prompt tokens. */
  readonly promptTokens?: number;
}

export type ParseResult =
  | { readonly ok: true; readonly request: WireRequest }
  | { readonly ok: false; readonly error: ErrorReply };

/** What a response is made of. */
export interface ResponseContext {
  readonly id: string;
  readonly model: string;
  /** Seconds since the epoch (OpenAI `created`). */
  readonly created: number;
  readonly input: InputUsage;
  readonly includeUsage: boolean;
}

export interface FinalOutput {
  readonly text: string;
  readonly tokens: number;
  readonly truncated: boolean;
}

/** Why a request was refused by the limits. */
export interface RateLimitRefusal {
  readonly model: string;
  /** The dimension named in the message: the first failing one, or `concurrent`. */
  readonly dimension: RateDimension | 'concurrent';
  /** Leave out the rate-limit headers and `retry-after` (a headerless 429). */
  readonly headerless?: boolean;
  /** Token `remaining` headers exact instead of rounded. */
  readonly exact?: boolean;
  readonly costs: Costs;
  readonly snapshot: readonly DimensionSnapshot[];
  /** `Infinity` when the request can never fit. */
  readonly retryAfterMs: number;
  readonly concurrentLimit?: number;
}

/** One provider's wire format: pure rendering of bodies, headers and SSE frames. */
export interface WireFormat {
  /** The only route: `/v1/messages` or `/v1/chat/completions`. */
  readonly path: string;
  readonly requestIdHeader: string;
  /** A request id in the provider's format, drawn from `random`. */
  requestId(random: Random): string;
  /** Prefix of generated response ids (`msg_`, `chatcmpl-`). */
  readonly responseIdPrefix: string;
  /** Characters after the prefix. */
  readonly responseIdLength: number;
  /** The message of the 400 for a body that is not JSON. */
  readonly malformedJsonMessage: string;
  /** The 404 for any other route. */
  notFound(method: string, path: string): ErrorReply;
  /** Checks credentials and mandatory headers; an error reply when refused. */
  checkHeaders(headers: IncomingHttpHeaders, apiKey: string | undefined): ErrorReply | undefined;
  parse(body: unknown, defaultMaxTokens: number): ParseResult;
  error(kind: ErrorKind, message?: string): ErrorReply;
  /** A 429 for a request the limits refused. */
  rateLimited(refusal: RateLimitRefusal, now: number): ErrorReply;
  /**
   * Rate-limit headers describing the buckets at `now`; token `remaining` rounded as the provider
   * does unless `exact`.
   */
  rateLimitHeaders(
    snapshot: readonly DimensionSnapshot[],
    now: number,
    exact?: boolean,
  ): Record<string, string>;
  /** Extra headers of a successful response. */
  successHeaders(): Record<string, string>;
  json(context: ResponseContext, output: FinalOutput): Record<string, unknown>;
  streamStart(context: ResponseContext): string;
  streamDelta(context: ResponseContext, text: string): string;
  streamEnd(context: ResponseContext, output: Omit<FinalOutput, 'text'>): string;
  /**
   * The frames that end a stream failing after its start: the provider's error event carrying
   * the body of `error(kind)`. The SDKs throw an `APIError` without status on it.
   */
  streamError(kind: ErrorKind): string;
}
