import Anthropic from '@anthropic-ai/sdk';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  isProviderFailure,
  isRetryableError,
  isTransientProviderError,
} from '../../src/providers/classify.js';

const anthropicBody = (type: string, message = 'msg') => ({
  type: 'error',
  error: { type, message },
});
const anthropic = (status: number, type: string, headers: Record<string, string> = {}) =>
  Anthropic.APIError.generate(status, anthropicBody(type), undefined, new Headers(headers));
const openaiBody = (code: string | null, type: string) => ({
  error: { message: 'msg', type, code, param: null },
});
const openai = (
  status: number,
  code: string | null,
  type: string,
  headers: Record<string, string> = {},
) => OpenAI.APIError.generate(status, openaiBody(code, type), undefined, new Headers(headers));

describe('classifyError with the Anthropic SDK (1.x) error classes', () => {
  it('429 rate_limit_error is a retryable rate limit, not a breaker failure', () => {
    const err = anthropic(429, 'rate_limit_error');
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(classifyError(err)).toMatchObject({
      kind: 'rate-limit',
      status: 429,
      retryable: true,
      providerFailure: false,
    });
  });

  it('529 overloaded_error is transient and a breaker failure', () => {
    const err = anthropic(529, 'overloaded_error');
    expect(classifyError(err)).toMatchObject({
      kind: 'overloaded',
      retryable: true,
      providerFailure: true,
    });
  });

  it.each([500, 502, 503, 504])('%i is a transient server failure', (status) => {
    const err = anthropic(status, 'api_error');
    expect(classifyError(err)).toMatchObject({
      kind: 'server',
      retryable: true,
      providerFailure: true,
    });
  });

  it('408 is a timeout and 409 a conflict, both retryable', () => {
    expect(classifyError(anthropic(408, 'timeout_error'))).toMatchObject({
      kind: 'timeout',
      retryable: true,
      providerFailure: true,
    });
    expect(classifyError(anthropic(409, 'conflict'))).toMatchObject({
      kind: 'conflict',
      retryable: true,
      providerFailure: false,
    });
  });

  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [422, 'invalid_request_error'],
  ])('%i %s is a client error, never retried', (status, type) => {
    const c = classifyError(anthropic(status, type));
    expect(c).toMatchObject({ kind: 'client', retryable: false, transient: false });
    expect(isTransientProviderError(anthropic(status, type))).toBe(false);
  });

  it('billing_error is a quota error, never retried', () => {
    expect(classifyError(anthropic(400, 'billing_error'))).toMatchObject({
      kind: 'quota',
      retryable: false,
    });
    expect(classifyError(anthropic(402, 'billing_error')).kind).toBe('quota');
  });

  it('a 400 for a credit balance too low is a quota error, not a bug in the request', () => {
    const body = {
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message:
          'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
      },
    };
    const error = Anthropic.APIError.generate(400, body, undefined, new Headers());
    expect(classifyError(error)).toMatchObject({ kind: 'quota', retryable: false });
    // Any other invalid request stays a client error.
    expect(classifyError(anthropic(400, 'invalid_request_error')).kind).toBe('client');
  });

  it('connection errors, timeouts and user aborts', () => {
    expect(classifyError(new Anthropic.APIConnectionError({ message: 'boom' }))).toMatchObject({
      kind: 'connection',
      retryable: true,
      providerFailure: true,
    });
    expect(classifyError(new Anthropic.APIConnectionTimeoutError())).toMatchObject({
      kind: 'timeout',
      retryable: true,
    });
    expect(classifyError(new Anthropic.APIUserAbortError())).toMatchObject({
      kind: 'cancelled',
      retryable: false,
    });
  });

  it('x-should-retry wins over the status', () => {
    expect(isRetryableError(anthropic(503, 'api_error', { 'x-should-retry': 'false' }))).toBe(
      false,
    );
    expect(
      isRetryableError(anthropic(400, 'invalid_request_error', { 'x-should-retry': 'true' })),
    ).toBe(true);
    expect(
      classifyError(anthropic(529, 'overloaded_error', { 'x-should-retry': 'false' })),
    ).toMatchObject({ shouldRetryHeader: false, retryable: false, transient: true });
  });

  it('reads overloaded_error from the body even without a 529 (0.x shape, plain headers)', () => {
    const legacy = Object.assign(new Error('overloaded'), {
      status: 500,
      headers: { 'X-Should-Retry': 'true' },
      error: anthropicBody('overloaded_error'),
    });
    expect(classifyError(legacy)).toMatchObject({
      kind: 'overloaded',
      shouldRetryHeader: true,
      retryable: true,
    });
  });
});

describe('classifyError with the OpenAI SDK (6.x) error classes', () => {
  it('429 rate_limit_exceeded is a retryable rate limit', () => {
    const err = openai(429, 'rate_limit_exceeded', 'requests');
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(classifyError(err)).toMatchObject({ kind: 'rate-limit', retryable: true });
  });

  it('429 insufficient_quota is a billing error, never retried (in code or in type)', () => {
    expect(classifyError(openai(429, 'insufficient_quota', 'insufficient_quota'))).toMatchObject({
      kind: 'quota',
      retryable: false,
    });
    expect(classifyError(openai(429, null, 'insufficient_quota')).kind).toBe('quota');
    expect(classifyError(openai(429, 'billing_hard_limit_reached', 'requests')).kind).toBe('quota');
  });

  it('500 / 503 are transient; 400 / 401 are not', () => {
    expect(isTransientProviderError(openai(500, null, 'server_error'))).toBe(true);
    expect(isProviderFailure(openai(503, null, 'server_error'))).toBe(true);
    expect(isTransientProviderError(openai(400, 'invalid_value', 'invalid_request_error'))).toBe(
      false,
    );
    expect(isTransientProviderError(openai(401, 'invalid_api_key', 'invalid_request_error'))).toBe(
      false,
    );
  });

  it('connection errors and aborts', () => {
    expect(classifyError(new OpenAI.APIConnectionError({ message: 'x' })).kind).toBe('connection');
    expect(classifyError(new OpenAI.APIConnectionTimeoutError()).kind).toBe('timeout');
    expect(classifyError(new OpenAI.APIUserAbortError()).kind).toBe('cancelled');
  });
});

describe('classifyError with Gemini errors and plain fetch responses', () => {
  const geminiError = (violationQuotaId: string) =>
    Object.assign(
      new Error(
        JSON.stringify({
          error: {
            code: 429,
            message: 'Resource has been exhausted',
            status: 'RESOURCE_EXHAUSTED',
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
                violations: [{ quotaId: violationQuotaId }],
              },
              { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' },
            ],
          },
        }),
      ),
      { name: 'ApiError', status: 429 },
    );

  it('per-minute quota is a rate limit; per-day quota is a quota error', () => {
    expect(classifyError(geminiError('GenerateRequestsPerMinutePerProjectPerModel')).kind).toBe(
      'rate-limit',
    );
    expect(
      classifyError(geminiError('GenerateRequestsPerDayPerProjectPerModel-FreeTier')),
    ).toMatchObject({
      kind: 'quota',
      retryable: false,
    });
  });

  it('reads a fetch Response (status + Headers) and an error carrying one', () => {
    const response = new Response('{}', { status: 503, headers: { 'retry-after': '2' } });
    expect(classifyError(response)).toMatchObject({ kind: 'server', status: 503, retryable: true });
    const wrapped = Object.assign(new Error('HTTP 429'), {
      response: new Response(null, { status: 429 }),
    });
    expect(classifyError(wrapped)).toMatchObject({ kind: 'rate-limit', status: 429 });
    expect(classifyError(new Response(null, { status: 404 })).kind).toBe('client');
  });
});

describe('classifyError with non-provider values', () => {
  it('programming errors are never transient', () => {
    for (const err of [
      new TypeError('x is not a function'),
      new RangeError('r'),
      new Error('plain'),
    ]) {
      expect(classifyError(err)).toMatchObject({
        kind: 'unknown',
        retryable: false,
        transient: false,
      });
    }
    for (const v of [undefined, null, 42, 'string', {}])
      expect(classifyError(v).kind).toBe('unknown');
  });

  it('network failures are connection errors, also as the cause of fetch failed', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(classifyError(reset).kind).toBe('connection');
    const fetchFailed = new TypeError('fetch failed', { cause: reset });
    expect(classifyError(fetchFailed)).toMatchObject({ kind: 'connection', retryable: true });
  });

  it('aborts and cockatiel errors', () => {
    const ac = new AbortController();
    ac.abort();
    expect(classifyError(ac.signal.reason).kind).toBe('cancelled');
    expect(classifyError(new DOMException('t', 'TimeoutError')).kind).toBe('timeout');
    expect(classifyError(new TaskCancelledError('Operation timed out after 10ms')).kind).toBe(
      'timeout',
    );
    expect(classifyError(new TaskCancelledError('Operation cancelled')).kind).toBe('cancelled');
    expect(classifyError(new BrokenCircuitError()).kind).toBe('circuit-open');
  });
});

describe('classifyError: properties', () => {
  it('never throws, and its flags are consistent, for any value', async () => {
    const fc = (await import('fast-check')).default;
    const shapes = fc.oneof(
      fc.anything(),
      fc.record({
        status: fc.oneof(fc.integer({ min: 0, max: 700 }), fc.string()),
        headers: fc.dictionary(fc.string(), fc.string()),
        error: fc.anything(),
        message: fc.string(),
        code: fc.anything(),
      }),
    );
    fc.assert(
      fc.property(shapes, (value) => {
        const c = classifyError(value);
        if (c.kind === 'cancelled') expect(c.retryable).toBe(false);
        if (c.providerFailure) expect(c.transient).toBe(true);
        if (c.shouldRetryHeader === undefined) expect(c.retryable).toBe(c.transient);
        if (c.status !== undefined) expect(c.status >= 100 && c.status <= 599).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('classifyError with errors raised mid-stream (SSE `error` event: no HTTP status)', () => {
  // What the SDKs' own streaming code throws when an `event: error` arrives after the 200:
  // Anthropic `new APIError(undefined, body, undefined, headers, body.error.type)`,
  // OpenAI `new APIError(undefined, data.error, undefined, headers)`.
  const anthropicStream = (type: Anthropic.ErrorType) =>
    new Anthropic.APIError(undefined, anthropicBody(type), undefined, new Headers(), type);
  const openaiStream = (type: string, code: string | null = null) =>
    new OpenAI.APIError(
      undefined,
      { message: 'msg', type, code, param: null },
      undefined,
      new Headers(),
    );

  it('Anthropic api_error is a transient server failure; rate_limit_error a rate limit', () => {
    expect(classifyError(anthropicStream('overloaded_error'))).toMatchObject({
      kind: 'overloaded',
      retryable: true,
      providerFailure: true,
    });
    expect(classifyError(anthropicStream('api_error'))).toMatchObject({
      kind: 'server',
      retryable: true,
      providerFailure: true,
    });
    expect(classifyError(anthropicStream('rate_limit_error'))).toMatchObject({
      kind: 'rate-limit',
      retryable: true,
      providerFailure: false,
    });
    expect(classifyError(anthropicStream('billing_error'))).toMatchObject({
      kind: 'quota',
      retryable: false,
    });
  });

  it('OpenAI server_error is a transient server failure; insufficient_quota stays a quota error', () => {
    expect(classifyError(openaiStream('server_error'))).toMatchObject({
      kind: 'server',
      retryable: true,
      providerFailure: true,
    });
    expect(classifyError(openaiStream('tokens', 'rate_limit_exceeded')).kind).toBe('rate-limit');
    expect(classifyError(openaiStream('insufficient_quota', 'insufficient_quota')).kind).toBe(
      'quota',
    );
  });

  it('client-side body types without a status stay non-transient', () => {
    expect(classifyError(anthropicStream('invalid_request_error')).transient).toBe(false);
    expect(classifyError(openaiStream('invalid_request_error')).transient).toBe(false);
  });
});

describe('classifyError with undici timeouts (plain fetch)', () => {
  const fetchFailed = (name: string, code: string) =>
    new TypeError('fetch failed', { cause: Object.assign(new Error(name), { name, code }) });

  it('headers and body timeouts are transient timeouts, not programming errors', () => {
    for (const e of [
      fetchFailed('HeadersTimeoutError', 'UND_ERR_HEADERS_TIMEOUT'),
      fetchFailed('BodyTimeoutError', 'UND_ERR_BODY_TIMEOUT'),
    ]) {
      expect(classifyError(e)).toMatchObject({
        retryable: true,
        transient: true,
        providerFailure: true,
      });
    }
  });
});
