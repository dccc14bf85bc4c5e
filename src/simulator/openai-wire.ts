import type { IncomingHttpHeaders } from 'node:http';
import { formatGoDuration, retryAfterSeconds } from './durations.js';
import type { DimensionSnapshot } from './rate-buckets.js';
import { sseData } from './sse.js';
import { isRecord, openaiPromptTokens } from './tokens.js';
import type { ErrorKind, ErrorReply, ParseResult, RateLimitRefusal, WireFormat } from './wire.js';

/**
 * OpenAI Chat Completions: `POST /v1/chat/completions`, errors as
 * `{error:{message, type, param, code}}`.
 */

type Spec = readonly [status: number, type: string, code: string | number | null, message: string];

const ERRORS: Readonly<Record<ErrorKind, Spec>> = {
  invalid_request: [400, 'invalid_request_error', null, 'Invalid request'],
  authentication: [
    401,
    'invalid_request_error',
    'invalid_api_key',
    'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
  ],
  billing: [
    429,
    'billing_not_active',
    'billing_not_active',
    'Your account is not active, please check your billing details on our website.',
  ],
  not_found: [404, 'invalid_request_error', null, 'Invalid URL'],
  request_too_large: [413, 'invalid_request_error', null, 'Request body too large.'],
  rate_limit: [
    429,
    'requests',
    'rate_limit_exceeded',
    'Rate limit reached. Please try again in 1s.',
  ],
  insufficient_quota: [
    429,
    'insufficient_quota',
    'insufficient_quota',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  ],
  server_error: [
    500,
    'server_error',
    null,
    'The server had an error while processing your request. Sorry about that!',
  ],
  bad_gateway: [502, 'cf_bad_gateway', 502, 'Bad gateway.'],
  service_unavailable: [503, 'server_error', null, 'The server is temporarily unavailable.'],
  overloaded: [
    503,
    'server_error',
    null,
    'The engine is currently overloaded, please try again later.',
  ],
};

function reply(
  kind: ErrorKind,
  message?: string,
  detail: { param?: string | null; code?: string | null; type?: string } = {},
): ErrorReply {
  const [status, type, code, fallback] = ERRORS[kind];
  return {
    status,
    body: {
      error: {
        message: message ?? fallback,
        type: detail.type ?? type,
        param: detail.param ?? null,
        code: detail.code === undefined ? code : detail.code,
      },
    },
    headers: {},
  };
}

const invalid = (
  message: string,
  param: string | null = null,
  code: string | null = null,
): ParseResult => ({
  ok: false,
  error: reply('invalid_request', message, { param, code }),
});

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

function checkPositiveInteger(
  body: Record<string, unknown>,
  name: string,
): ParseResult | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    return invalid(
      `Invalid type for '${name}': expected an integer, but got ${typeName(value)} instead.`,
      name,
      'invalid_type',
    );
  if (value < 1)
    return invalid(
      `Invalid '${name}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
      name,
      'integer_below_min_value',
    );
  return undefined;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

export const openaiWire: WireFormat = {
  path: '/v1/chat/completions',
  requestIdHeader: 'x-request-id',
  responseIdPrefix: 'chatcmpl-',
  malformedJsonMessage:
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
  notFound: (method, path) => reply('not_found', `Invalid URL (${method} ${path})`),

  checkHeaders(headers: IncomingHttpHeaders, apiKey: string | undefined) {
    const key = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (!key)
      return reply(
        'authentication',
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        { code: null },
      );
    if (apiKey !== undefined && key !== apiKey) return reply('authentication');
    return undefined;
  },

  parse(body: unknown, defaultMaxTokens: number): ParseResult {
    if (!isRecord(body))
      return invalid(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      );
    if (body.model === undefined || body.model === null || body.model === '')
      return invalid('you must provide a model parameter');
    if (typeof body.model !== 'string')
      return invalid(
        `Invalid type for 'model': expected a string, but got ${typeName(body.model)} instead.`,
        'model',
        'invalid_type',
      );
    if (body.messages === undefined)
      return invalid(
        "Missing required parameter: 'messages'.",
        'messages',
        'missing_required_parameter',
      );
    if (!Array.isArray(body.messages))
      return invalid(
        `Invalid type for 'messages': expected an array, but got ${typeName(body.messages)} instead.`,
        'messages',
        'invalid_type',
      );
    if (body.messages.length === 0)
      return invalid(
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        'messages',
        'empty_array',
      );
    for (const [i, message] of body.messages.entries()) {
      const param = `messages[${i}]`;
      if (!isRecord(message))
        return invalid(
          `Invalid type for '${param}': expected an object, but got ${typeName(message)} instead.`,
          param,
          'invalid_type',
        );
      if (message.role === undefined)
        return invalid(
          `Missing required parameter: '${param}.role'.`,
          `${param}.role`,
          'missing_required_parameter',
        );
      if (typeof message.role !== 'string' || !ROLES.has(message.role))
        return invalid(
          `Invalid value: '${String(message.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
          `${param}.role`,
          'invalid_value',
        );
      const content = message.content;
      if (
        content !== undefined &&
        content !== null &&
        typeof content !== 'string' &&
        !Array.isArray(content)
      )
        return invalid(
          `Invalid type for '${param}.content': expected one of a string or array of objects, but got ${typeName(content)} instead.`,
          `${param}.content`,
          'invalid_type',
        );
    }
    const badInteger =
      checkPositiveInteger(body, 'max_tokens') ??
      checkPositiveInteger(body, 'max_completion_tokens') ??
      checkPositiveInteger(body, 'n');
    if (badInteger) return badInteger;
    if (typeof body.n === 'number' && body.n !== 1)
      return invalid('The simulator supports only n = 1.', 'n', 'unsupported_value');
    if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
      return invalid(
        `Invalid type for 'stream': expected a boolean, but got ${typeName(body.stream)} instead.`,
        'stream',
        'invalid_type',
      );
    const streamOptions = body.stream_options;
    if (streamOptions !== undefined && streamOptions !== null) {
      if (body.stream !== true)
        return invalid(
          "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
          'stream_options',
          'invalid_value',
        );
      if (!isRecord(streamOptions))
        return invalid(
          `Invalid type for 'stream_options': expected an object, but got ${typeName(streamOptions)} instead.`,
          'stream_options',
          'invalid_type',
        );
    }
    if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools))
      return invalid(
        `Invalid type for 'tools': expected an array, but got ${typeName(body.tools)} instead.`,
        'tools',
        'invalid_type',
      );
    const maxTokens = (body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens) as number;
    return {
      ok: true,
      request: {
        model: body.model,
        maxTokens,
        stream: body.stream === true,
        includeUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
        promptTokens: openaiPromptTokens({ tools: body.tools, messages: body.messages }),
      },
    };
  },

  error: (kind, message) => reply(kind, message),

  rateLimited(refusal: RateLimitRefusal, now: number): ErrorReply {
    const { dimension, model } = refusal;
    const headers: Record<string, string> = openaiWire.rateLimitHeaders(refusal.snapshot, now);
    if (dimension === 'concurrent') {
      headers['retry-after'] = '1';
      return {
        ...reply(
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
    const what = dimension === 'rpm' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
    const type = dimension === 'rpm' ? 'requests' : 'tokens';
    if (!Number.isFinite(refusal.retryAfterMs)) {
      return {
        ...reply(
          'rate_limit',
          `Request too large for ${model} in organization org-simulator on ${what}: Limit ${limit}, Requested ${requested}. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.`,
          { type },
        ),
        headers,
      };
    }
    const used = Math.max(0, Math.ceil((s?.capacity ?? 0) - (s?.remaining ?? 0)));
    headers['retry-after'] = String(retryAfterSeconds(refusal.retryAfterMs));
    return {
      ...reply(
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
