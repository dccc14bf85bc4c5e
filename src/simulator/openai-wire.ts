import type { IncomingHttpHeaders } from 'node:http';
import { formatGoDuration, retryAfterSeconds } from './durations.js';
import { openaiError } from './openai-errors.js';
import { parseOpenaiRequest } from './openai-request.js';
import type { DimensionSnapshot } from './rate-buckets.js';
import { randomHexId } from './rng.js';
import { sseData } from './sse.js';
import type { ErrorReply, RateLimitRefusal, WireFormat } from './wire.js';

/**
 * OpenAI Chat Completions: `POST /v1/chat/completions`, errors as
 * `{error:{message, type, param, code}}`.
 */

const WHAT: Readonly<Partial<Record<string, string>>> = {
  rpm: 'requests per min (RPM)',
  tpm: 'tokens per min (TPM)',
  rpd: 'requests per day (RPD)',
  tpd: 'tokens per day (TPD)',
};

export const openaiWire: WireFormat = {
  path: '/v1/chat/completions',
  requestIdHeader: 'x-request-id',
  // `req_` and 32 lowercase hex digits, as the API's `x-request-id`.
  requestId: (random) => randomHexId(random, 'req_', 32),
  responseIdPrefix: 'chatcmpl-',
  responseIdLength: 29,
  malformedJsonMessage:
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
  notFound: (method, path) => openaiError('not_found', `Invalid URL (${method} ${path})`),

  checkHeaders(headers: IncomingHttpHeaders, apiKey: string | undefined) {
    const key = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (!key)
      return openaiError(
        'authentication',
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        { code: null },
      );
    if (apiKey !== undefined && key !== apiKey) return openaiError('authentication');
    return undefined;
  },

  parse: parseOpenaiRequest,

  error: (kind, message) => openaiError(kind, message),

  rateLimited(refusal: RateLimitRefusal, now: number): ErrorReply {
    const { dimension, model } = refusal;
    // A headerless 429 keeps only the message's "Please try again in ..." (openai-node#1477).
    const headers: Record<string, string> = refusal.headerless
      ? {}
      : openaiWire.rateLimitHeaders(refusal.snapshot, now);
    if (dimension === 'concurrent') {
      if (!refusal.headerless) headers['retry-after'] = '1';
      return {
        ...openaiError(
          'rate_limit',
          `Too many concurrent requests for ${model} in organization org-simulator: Limit ${refusal.concurrentLimit}. Please try again in 1s.`,
          { type: 'requests' },
        ),
        headers,
      };
    }
    const s = refusal.snapshot.find((d) => d.dimension === dimension);
    const limit = s?.limit ?? 0;
    const requested = refusal.costs[dimension] ?? 0;
    const what = WHAT[dimension];
    const type = dimension === 'rpm' || dimension === 'rpd' ? 'requests' : 'tokens';
    if (!Number.isFinite(refusal.retryAfterMs)) {
      return {
        ...openaiError(
          'rate_limit',
          `Request too large for ${model} in organization org-simulator on ${what}: Limit ${limit}, Requested ${requested}. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.`,
          { type },
        ),
        headers,
      };
    }
    const used = Math.max(0, Math.ceil((s?.capacity ?? 0) - (s?.remaining ?? 0)));
    if (!refusal.headerless)
      headers['retry-after'] = String(retryAfterSeconds(refusal.retryAfterMs));
    return {
      ...openaiError(
        'rate_limit',
        `Rate limit reached for ${model} in organization org-simulator on ${what}: Limit ${limit}, Used ${used}, Requested ${requested}. Please try again in ${formatGoDuration(refusal.retryAfterMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
        { type },
      ),
      headers,
    };
  },

  rateLimitHeaders(snapshot: readonly DimensionSnapshot[]) {
    const headers: Record<string, string> = {};
    for (const s of snapshot) {
      const name =
        s.dimension === 'rpm' ? 'requests' : s.dimension === 'tpm' ? 'tokens' : undefined;
      if (!name) continue;
      headers[`x-ratelimit-limit-${name}`] = String(s.limit);
      headers[`x-ratelimit-remaining-${name}`] = String(s.remaining);
      headers[`x-ratelimit-reset-${name}`] = formatGoDuration(s.resetAfterMs);
    }
    return headers;
  },

  successHeaders: () => ({ 'openai-processing-ms': '0', 'openai-version': '2020-10-01' }),

  json(context, output) {
    return {
      id: context.id,
      object: 'chat.completion',
      created: context.created,
      model: context.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: output.text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: output.truncated ? 'length' : 'stop',
        },
      ],
      usage: usage(context.input.input_tokens, output.tokens),
      service_tier: 'default',
      system_fingerprint: null,
    };
  },

  streamStart(context) {
    return sseData(chunk(context, { role: 'assistant', content: '', refusal: null }, null));
  },

  streamDelta(context, text) {
    return sseData(chunk(context, { content: text }, null));
  },

  streamEnd(context, output) {
    let frames = sseData(chunk(context, {}, output.truncated ? 'length' : 'stop'));
    if (context.includeUsage)
      frames += sseData({
        ...chunkBase(context),
        choices: [],
        usage: usage(context.input.input_tokens, output.tokens),
      });
    return `${frames}${sseData('[DONE]')}`;
  },

  // A data chunk holding only the error body (no `choices`), then `[DONE]`, as the API ends a
  // stream that fails after the 200; the SDK throws on any chunk with an `error`.
  streamError: (kind) => `${sseData(openaiError(kind).body)}${sseData('[DONE]')}`,
};

function usage(prompt: number, completion: number) {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  };
}

function chunkBase(context: { id: string; created: number; model: string }) {
  return {
    id: context.id,
    object: 'chat.completion.chunk',
    created: context.created,
    model: context.model,
    system_fingerprint: null,
  };
}

function chunk(
  context: { id: string; created: number; model: string; includeUsage: boolean },
  delta: Record<string, unknown>,
  finishReason: string | null,
) {
  return {
    ...chunkBase(context),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(context.includeUsage ? { usage: null } : {}),
  };
}
