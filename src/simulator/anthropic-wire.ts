import type { IncomingHttpHeaders } from 'node:http';
import { formatRfc3339, retryAfterSeconds } from './durations.js';
import type { RateDimension } from './options.js';
import type { DimensionSnapshot } from './rate-buckets.js';
import { randomId } from './rng.js';
import { sseEvent } from './sse.js';
import { anthropicPromptPieces, isRecord } from './tokens.js';
import type { ErrorKind, ErrorReply, ParseResult, RateLimitRefusal, WireFormat } from './wire.js';

/** Anthropic Messages API: `POST /v1/messages`, errors as `{type:'error', error:{type, message}}`. */

const ERRORS: Readonly<
  Record<ErrorKind, readonly [status: number, type: string, message: string]>
> = {
  invalid_request: [400, 'invalid_request_error', 'Invalid request'],
  authentication: [401, 'authentication_error', 'invalid x-api-key'],
  billing: [402, 'billing_error', 'There is an issue with your billing or payment information.'],
  not_found: [404, 'not_found_error', 'Not Found'],
  request_too_large: [
    413,
    'request_too_large',
    'Request exceeds the maximum allowed number of bytes.',
  ],
  rate_limit: [429, 'rate_limit_error', 'Number of requests has exceeded your rate limit.'],
  insufficient_quota: [
    400,
    'invalid_request_error',
    'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
  ],
  server_error: [500, 'api_error', 'Internal server error'],
  bad_gateway: [502, 'api_error', 'Bad gateway'],
  service_unavailable: [503, 'api_error', 'Service unavailable'],
  overloaded: [529, 'overloaded_error', 'Overloaded'],
  // The simulator's wording; what identifies the cap is `details.error_code` (PROVIDERS.md §1.6).
  spend_cap: [
    429,
    'rate_limit_error',
    "Your organization has reached its usage tier's monthly spend limit. Access resumes at 00:00 UTC on the first day of next month.",
  ],
};

/** Structured `error.details` of the kinds that carry one. */
const DETAILS: Readonly<Partial<Record<ErrorKind, Readonly<Record<string, string>>>>> = {
  spend_cap: { error_code: 'enforced_spend_limit_reached' },
};

/** The organisation id of the simulated account (in 429 messages, as the API writes it). */
const ORGANIZATION_ID = '5e1f0c1d-51a7-4c2e-9d3b-7a0f6b2c8e41';

/** Statuses the SDK should retry, marked as the API does. */
const RETRYABLE = new Set([429, 500, 502, 503, 529]);

const HEADER_NAMES: Readonly<Partial<Record<RateDimension, string>>> = {
  rpm: 'requests',
  itpm: 'input-tokens',
  otpm: 'output-tokens',
};

const UNITS: Readonly<Partial<Record<RateDimension, string>>> = {
  rpm: 'requests',
  itpm: 'input tokens',
  otpm: 'output tokens',
};

function reply(kind: ErrorKind, message?: string): ErrorReply {
  const [status, type, fallback] = ERRORS[kind];
  const details = DETAILS[kind];
  return {
    status,
    body: {
      type: 'error',
      error: { type, message: message ?? fallback, ...(details && { details }) },
    },
    // The spend cap is a 429 no retry can help; whether the API marks it is not recorded.
    headers: RETRYABLE.has(status) && kind !== 'spend_cap' ? { 'x-should-retry': 'true' } : {},
  };
}

/** Thousands separators, as the API's messages write limits ("50,000"). */
const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Anthropic rounds token `remaining` values to the nearest thousand (PROVIDERS.md §1.5). A bucket
 * enforced per second (compressed time) is rounded at the same scale, to the nearest 1000/60:
 * the rounding stays the same share of the bucket.
 */
const roundThousand = (n: number, scale: number) => {
  const step = 1000 * scale;
  return Math.round(Math.round(n / step) * step);
};

const invalid = (message: string): ParseResult => ({
  ok: false,
  error: reply('invalid_request', message),
});

export const anthropicWire: WireFormat = {
  path: '/v1/messages',
  requestIdHeader: 'request-id',
  requestId: (random) => randomId(random, 'req_011C', 20),
  responseIdPrefix: 'msg_01',
  // Real message ids: `msg_01` and 22 characters.
  responseIdLength: 22,
  malformedJsonMessage:
    'There was an error parsing the body of your request: it is not valid JSON.',
  notFound: () => reply('not_found'),

  checkHeaders(headers: IncomingHttpHeaders, apiKey: string | undefined) {
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    const key = typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : bearer;
    if (!key) return reply('authentication', 'x-api-key header is required');
    if (apiKey !== undefined && key !== apiKey) return reply('authentication');
    if (!headers['anthropic-version'])
      return reply('invalid_request', 'anthropic-version: header is required');
    return undefined;
  },

  parse(body: unknown): ParseResult {
    if (!isRecord(body)) return invalid('Input should be a valid dictionary or object');
    if (body.model === undefined) return invalid('model: Field required');
    if (typeof body.model !== 'string' || body.model === '')
      return invalid('model: Input should be a valid string');
    if (body.max_tokens === undefined) return invalid('max_tokens: Field required');
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens))
      return invalid('max_tokens: Input should be a valid integer');
    if (body.max_tokens < 1)
      return invalid('max_tokens: Input should be greater than or equal to 1');
    if (body.messages === undefined) return invalid('messages: Field required');
    if (!Array.isArray(body.messages)) return invalid('messages: Input should be a valid list');
    if (body.messages.length === 0) return invalid('messages: at least one message is required');
    for (const [i, message] of body.messages.entries()) {
      if (!isRecord(message)) return invalid(`messages.${i}: Input should be a valid dictionary`);
      if (message.role !== 'user' && message.role !== 'assistant')
        return invalid(`messages.${i}.role: Input should be 'user' or 'assistant'`);
      if (message.content === undefined) return invalid(`messages.${i}.content: Field required`);
      if (typeof message.content !== 'string' && !Array.isArray(message.content))
        return invalid(`messages.${i}.content: Input should be a valid string or list`);
    }
    if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system))
      return invalid('system: Input should be a valid string or list');
    if (body.tools !== undefined && !Array.isArray(body.tools))
      return invalid('tools: Input should be a valid list');
    if (body.stream !== undefined && typeof body.stream !== 'boolean')
      return invalid('stream: Input should be a valid boolean');
    return {
      ok: true,
      request: {
        model: body.model,
        maxTokens: body.max_tokens,
        stream: body.stream === true,
        includeUsage: true,
        pieces: anthropicPromptPieces({
          tools: body.tools,
          system: body.system,
          messages: body.messages,
        }),
      },
    };
  },

  error: reply,

  rateLimited(refusal: RateLimitRefusal, now: number): ErrorReply {
    const { dimension } = refusal;
    let message: string;
    if (dimension === 'concurrent') {
      // The real text names no number (PROVIDERS.md §4.3 L1).
      message =
        'Number of concurrent connections has exceeded your rate limit. Please try again later or contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.';
    } else {
      const limit = refusal.snapshot.find((s) => s.dimension === dimension)?.limit ?? 0;
      message = `This request would exceed the rate limit for your organization (${ORGANIZATION_ID}) of ${grouped(limit)} ${UNITS[dimension]} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.`;
    }
    const base = reply('rate_limit', message);
    if (refusal.headerless) return base;
    const headers: Record<string, string> = {
      ...base.headers,
      ...anthropicWire.rateLimitHeaders(refusal.snapshot, now, refusal.exact),
    };
    if (Number.isFinite(refusal.retryAfterMs))
      headers['retry-after'] = String(retryAfterSeconds(refusal.retryAfterMs));
    else headers['x-should-retry'] = 'false';
    return { ...base, headers };
  },

  rateLimitHeaders(snapshot: readonly DimensionSnapshot[], now: number, exact = false) {
    const headers: Record<string, string> = {};
    const set = (
      name: string,
      limit: number,
      remaining: number,
      resetAfterMs: number,
      scale: number,
    ) => {
      const rounded = name === 'requests' || exact ? remaining : roundThousand(remaining, scale);
      headers[`anthropic-ratelimit-${name}-limit`] = String(limit);
      headers[`anthropic-ratelimit-${name}-remaining`] = String(rounded);
      headers[`anthropic-ratelimit-${name}-reset`] = formatRfc3339(now + resetAfterMs);
    };
    // Without workspace limits the `tokens` family is the sum of input and output (limit and
    // remaining); its reset, in both recorded samples, the earlier of the two.
    const tokens = {
      limit: 0,
      remaining: 0,
      resetAfterMs: Number.POSITIVE_INFINITY,
      scale: 1,
      any: false,
    };
    for (const s of snapshot) {
      const name = HEADER_NAMES[s.dimension];
      const scale = s.capacity / s.limit;
      if (name) set(name, s.limit, s.remaining, s.resetAfterMs, scale);
      if (s.dimension === 'itpm' || s.dimension === 'otpm') {
        tokens.limit += s.limit;
        tokens.remaining += s.remaining;
        tokens.resetAfterMs = Math.min(tokens.resetAfterMs, s.resetAfterMs);
        tokens.scale = Math.min(tokens.scale, scale);
        tokens.any = true;
      }
    }
    if (tokens.any)
      set('tokens', tokens.limit, tokens.remaining, tokens.resetAfterMs, tokens.scale);
    return headers;
  },

  successHeaders: () => ({}),

  json(context, output) {
    return {
      id: context.id,
      type: 'message',
      role: 'assistant',
      model: context.model,
      content: [{ type: 'text', text: output.text }],
      stop_reason: output.truncated ? 'max_tokens' : 'end_turn',
      stop_sequence: null,
      usage: { ...context.input, output_tokens: output.tokens },
    };
  },

  streamStart(context) {
    return (
      sseEvent('message_start', {
        type: 'message_start',
        message: {
          id: context.id,
          type: 'message',
          role: 'assistant',
          model: context.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...context.input, output_tokens: 1 },
        },
      }) +
      sseEvent('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'text', text: '' },
      }) +
      sseEvent('ping', { type: 'ping' })
    );
  },

  streamDelta(_context, text) {
    return sseEvent('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text },
    });
  },

  streamEnd(context, output) {
    return (
      sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      sseEvent('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: output.truncated ? 'max_tokens' : 'end_turn', stop_sequence: null },
        usage: { ...context.input, output_tokens: output.tokens },
      }) +
      sseEvent('message_stop', { type: 'message_stop' })
    );
  },

  // As documented for errors after the 200: an `error` event with the error body, then the end.
  streamError: (kind) => sseEvent('error', reply(kind).body),
};
