import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/providers/classify.js';
import { parseDuration } from '../../src/retry/retry-after.js';
import { ManualClock } from '../../src/testing/index.js';
import { openaiClient, rejectionOf, start } from './helpers.js';

const params = {
  model: 'gpt-4o',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'x'.repeat(40) }],
};

type ApiError = InstanceType<typeof OpenAI.APIError>;

/** OpenAI's `x-request-id`: `req_` and 32 lowercase hex digits. */
const REQUEST_ID = /^req_[0-9a-f]{32}$/;

describe('OpenAI Chat Completions over HTTP (real SDK)', () => {
  it('answers a completion with usage, request id and rate-limit headers', async () => {
    // A manual clock keeps refill from moving the numbers between admission and the headers.
    const clock = new ManualClock();
    const sim = await start({ provider: 'openai', clock, limits: { rpm: 500, tpm: 30_000 } });
    const { data, response } = await openaiClient(sim)
      .chat.completions.create(params)
      .withResponse();
    expect(data).toMatchObject({ object: 'chat.completion', model: 'gpt-4o' });
    expect(data.id).toMatch(/^chatcmpl-/);
    const choice = data.choices[0];
    expect(choice?.message.role).toBe('assistant');
    const completion = data.usage?.completion_tokens ?? -1;
    expect(Math.ceil((choice?.message.content ?? '').length / 4)).toBe(completion);
    expect(data.usage).toMatchObject({ prompt_tokens: 10, total_tokens: 10 + completion });
    expect(choice?.finish_reason).toBe(completion === 64 ? 'length' : 'stop');

    const h = response.headers;
    expect(h.get('x-request-id')).toMatch(REQUEST_ID);
    expect(h.get('x-ratelimit-limit-requests')).toBe('500');
    expect(h.get('x-ratelimit-remaining-requests')).toBe('499');
    expect(h.get('x-ratelimit-limit-tokens')).toBe('30000');
    // TPM was charged prompt + max_tokens at the start; a JSON answer's headers leave with its
    // body, after the unused max_tokens were given back: prompt + completion used.
    expect(h.get('x-ratelimit-remaining-tokens')).toBe(String(30_000 - 10 - completion));
    // One request refills in 60000/500 ms = 120 ms.
    expect(h.get('x-ratelimit-reset-requests')).toBe('120ms');
    // 10 + completion tokens at 30000/min (0.5 per ms) refill in twice as many ms.
    expect(h.get('x-ratelimit-reset-tokens')).toBe(`${2 * (10 + completion)}ms`);
    expect(data.created).toBe(Math.floor(clock.now() / 1000));

    // The SDK exposes the id of each response on the awaited result; a new one each time.
    const next = await openaiClient(sim).chat.completions.create(params);
    expect(next._request_id).toMatch(REQUEST_ID);
    expect(next._request_id).not.toBe(h.get('x-request-id'));
  });

  it('streams chunks and, with include_usage, a final usage chunk', async () => {
    const sim = await start({ provider: 'openai', outputTokens: { min: 20, max: 30 } });
    const client = openaiClient(sim);
    const stream = await client.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(finish).toBe('stop');
    expect(usage?.prompt_tokens).toBe(10);
    expect(usage?.completion_tokens).toBe(Math.ceil(text.length / 4));
    expect(usage?.completion_tokens).toBeGreaterThanOrEqual(20);

    const withoutUsage = await client.chat.completions.create({ ...params, stream: true });
    const usages: unknown[] = [];
    for await (const chunk of withoutUsage) if (chunk.usage) usages.push(chunk.usage);
    expect(usages).toEqual([]);
  });

  it('refuses with 429 rate_limit_exceeded on TPM, with retry-after and a Go-duration reset', async () => {
    const sim = await start({
      provider: 'openai',
      clock: new ManualClock(),
      limits: { tpm: 1000 },
    });
    const client = openaiClient(sim);
    const first = await client.chat.completions.create({ ...params, max_tokens: 900 });
    const error = await rejectionOf(client.chat.completions.create({ ...params, max_tokens: 900 }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const e = error as ApiError;
    expect(e.status).toBe(429);
    expect(e.code).toBe('rate_limit_exceeded');
    expect(e.type).toBe('tokens');
    expect(e.param).toBeNull();
    expect(e.message).toMatch(/on tokens per min \(TPM\): Limit 1000, Used \d+, Requested 910/);
    expect(e.requestID).toMatch(REQUEST_ID);
    // The first request left 1000 - 910 + (900 - output) tokens; 910 must be back.
    const left = 90 + 900 - (first.usage?.completion_tokens ?? 0);
    expect(e.message).toContain(`Used ${1000 - left}, Requested 910`);
    const waitMs = ((910 - left) * 60_000) / 1000;
    expect(e.headers?.get('retry-after')).toBe(String(Math.max(1, Math.ceil(waitMs / 1000))));
    expect(e.headers?.get('x-ratelimit-remaining-tokens')).toBe(String(left));
    expect(parseDuration(e.headers?.get('x-ratelimit-reset-tokens') ?? '')).toBe(
      Math.round(((1000 - left) * 60_000) / 1000),
    );
    expect(sim.stats().dimensions.tpm).toMatchObject({ limit: 1000, rejected: 1 });
  });

  it('refuses a request larger than the TPM limit without retry-after', async () => {
    const sim = await start({ provider: 'openai', limits: { tpm: 500 } });
    const error = await rejectionOf(
      openaiClient(sim).chat.completions.create({ ...params, max_tokens: 600 }),
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as ApiError).message).toContain('Request too large');
    expect((error as ApiError).headers?.get('retry-after')).toBeNull();
  });

  it('surfaces each scripted fault as the SDK error class', async () => {
    const sim = await start({
      provider: 'openai',
      faults: {
        script: [
          { kind: 'insufficient_quota' },
          { kind: 'rate_limit', retryAfterSeconds: 1 },
          { kind: 'server_error' },
          { kind: 'bad_gateway' },
          { kind: 'service_unavailable' },
          { kind: 'overloaded' },
          { kind: 'billing' },
          { kind: 'authentication' },
          { kind: 'invalid_request' },
          { kind: 'ok' },
        ],
      },
    });
    const client = openaiClient(sim);
    const expected = [
      [OpenAI.RateLimitError, 429, 'insufficient_quota', 'insufficient_quota'],
      [OpenAI.RateLimitError, 429, 'requests', 'rate_limit_exceeded'],
      [OpenAI.InternalServerError, 500, 'server_error', null],
      [OpenAI.InternalServerError, 502, 'cf_bad_gateway', 502],
      [OpenAI.InternalServerError, 503, 'server_error', null],
      [OpenAI.InternalServerError, 503, 'server_error', null],
      [OpenAI.RateLimitError, 429, 'billing_not_active', 'billing_not_active'],
      [OpenAI.AuthenticationError, 401, 'invalid_request_error', 'invalid_api_key'],
      [OpenAI.BadRequestError, 400, 'invalid_request_error', null],
    ] as const;
    for (const [cls, status, type, code] of expected) {
      const error = await rejectionOf(client.chat.completions.create(params));
      expect(error).toBeInstanceOf(cls);
      const e = error as ApiError;
      expect(e.status).toBe(status);
      expect(e.type).toBe(type);
      expect(e.code).toBe(code);
      expect(e.error).toHaveProperty('message');
      expect(e.requestID).toMatch(REQUEST_ID);
    }
    await expect(client.chat.completions.create(params)).resolves.toMatchObject({
      object: 'chat.completion',
    });
    expect(sim.stats().statuses).toEqual({
      '200': 1,
      '400': 1,
      '401': 1,
      '429': 3,
      '500': 1,
      '502': 1,
      '503': 2,
    });
  });

  it('answers bad input with the 400 body naming the parameter', async () => {
    const sim = await start({ provider: 'openai' });
    const client = openaiClient(sim);
    const cases: [Record<string, unknown>, string | null, string | null][] = [
      [{ model: 'gpt-4o' }, 'messages', 'missing_required_parameter'],
      [{ model: 'gpt-4o', messages: [] }, 'messages', 'empty_array'],
      [
        { model: 'gpt-4o', messages: [{ role: 'robot', content: 'x' }] },
        'messages[0].role',
        'invalid_value',
      ],
      [{ ...params, max_tokens: 0 }, 'max_tokens', 'integer_below_min_value'],
      [{ messages: params.messages }, null, null],
    ];
    for (const [body, param, code] of cases) {
      const error = await rejectionOf(client.chat.completions.create(body as never));
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as ApiError).type).toBe('invalid_request_error');
      expect((error as ApiError).param).toBe(param);
      expect((error as ApiError).code).toBe(code);
    }
    const raw = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer test', 'content-type': 'application/json' },
      body: 'not json',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('answers 413 for a body over the limit and 401 for a wrong key', async () => {
    const sim = await start({ provider: 'openai', maxBodyBytes: 2048, apiKey: 'sk-right' });
    const big = await rejectionOf(
      openaiClient(sim, { apiKey: 'sk-right' }).chat.completions.create({
        ...params,
        messages: [{ role: 'user', content: 'y'.repeat(10_000) }],
      }),
    );
    expect(big).toBeInstanceOf(OpenAI.APIError);
    expect((big as ApiError).status).toBe(413);
    expect((big as ApiError).type).toBe('invalid_request_error');
    const wrong = await rejectionOf(
      openaiClient(sim, { apiKey: 'sk-wrong' }).chat.completions.create(params),
    );
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((wrong as ApiError).code).toBe('invalid_api_key');
  });

  it('drops the connection before the response and mid-stream', async () => {
    const sim = await start({
      provider: 'openai',
      outputTokens: 40,
      faults: { script: [{ kind: 'connection_reset' }, { kind: 'reset_mid_stream' }] },
    });
    const client = openaiClient(sim);
    expect(await rejectionOf(client.chat.completions.create(params))).toBeInstanceOf(
      OpenAI.APIConnectionError,
    );
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let chunks = 0;
    const failure = await rejectionOf(
      (async () => {
        for await (const _ of stream) chunks++;
      })(),
    );
    expect(failure).toBeInstanceOf(Error);
    expect(chunks).toBeGreaterThan(0);
    expect(sim.stats().tokens.output).toBe(20);
  });

  it('ends a stream with an error chunk after some deltas (error_mid_stream)', async () => {
    // A manual clock keeps refill out of the TPM numbers.
    const sim = await start({
      provider: 'openai',
      clock: new ManualClock(),
      limits: { tpm: 10_000 },
      outputTokens: 40,
      faults: { script: [{ kind: 'error_mid_stream' }] },
    });
    const stream = await openaiClient(sim).chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of stream) {
          const content = chunk.choices[0]?.delta.content;
          if (content) deltas.push(content);
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
      })(),
    );
    // The SDK throws the base APIError, without status, carrying the chunk's error object.
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionError);
    const e = error as ApiError;
    expect(e.status).toBeUndefined();
    expect(e.type).toBe('server_error');
    expect(e.code).toBeNull();
    expect(e.param).toBeNull();
    expect(e.message).toBe('The engine is currently overloaded, please try again later.');
    expect(e.error).toEqual({
      message: 'The engine is currently overloaded, please try again later.',
      type: 'server_error',
      param: null,
      code: null,
    });
    expect(e.requestID).toMatch(REQUEST_ID);
    expect(classifyError(error)).toMatchObject({
      kind: 'server',
      transient: true,
      retryable: true,
      providerFailure: true,
    });
    expect(classifyError(error).status).toBeUndefined();

    // Half of the ten 4-token deltas arrived, and no finish reason.
    expect(deltas).toHaveLength(5);
    expect(finish).toBeNull();
    const delivered = deltas.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
    expect(delivered).toBe(20);
    const stats = sim.stats();
    expect(stats).toMatchObject({
      admitted: 1,
      statuses: { '200': 1 },
      faults: { error_mid_stream: 1 },
      tokens: { output: delivered },
    });
    // Charged prompt + max_tokens at the start, settled to prompt + what was delivered.
    expect(stats.dimensions.tpm?.charged).toBe(10 + delivered);
    expect(sim.available('tpm')).toBe(10_000 - 10 - delivered);
    expect(stats.concurrency.current).toBe(0);
  });

  it('ends the response cleanly after the error chunk and [DONE] (no reset)', async () => {
    const sim = await start({
      provider: 'openai',
      outputTokens: 40,
      faults: { rates: { error_mid_stream: 1 } },
    });
    const res = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer test', 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(REQUEST_ID);
    const frames = (await res.text()).split('\n\n').filter((frame) => frame !== '');
    // The start, five deltas, the error, [DONE].
    expect(frames).toHaveLength(8);
    expect(JSON.parse(frames[6]?.replace(/^data: /, '') ?? '')).toEqual({
      error: {
        message: 'The engine is currently overloaded, please try again later.',
        type: 'server_error',
        param: null,
        code: null,
      },
    });
    expect(frames[7]).toBe('data: [DONE]');
  });

  it('answers a JSON request 503 "engine overloaded" (error_mid_stream)', async () => {
    const sim = await start({
      provider: 'openai',
      clock: new ManualClock(),
      limits: { tpm: 10_000 },
      outputTokens: 40,
      faults: { script: [{ kind: 'error_mid_stream' }] },
    });
    const error = await rejectionOf(openaiClient(sim).chat.completions.create(params));
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const e = error as ApiError;
    expect(e.status).toBe(503);
    expect(e.type).toBe('server_error');
    expect(e.message).toContain('The engine is currently overloaded');
    expect(e.requestID).toMatch(REQUEST_ID);
    expect(classifyError(error)).toMatchObject({ kind: 'server', status: 503 });
    // Admitted and charged; nothing was delivered, so TPM settles to the prompt alone.
    const stats = sim.stats();
    expect(stats).toMatchObject({
      admitted: 1,
      statuses: { '503': 1 },
      faults: { error_mid_stream: 1 },
      tokens: { output: 0 },
    });
    expect(stats.dimensions.tpm?.charged).toBe(10);
  });

  it('answers unknown routes like the API', async () => {
    const sim = await start({ provider: 'openai' });
    const res = await fetch(`${sim.url}/v1/completions`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        message: 'Invalid URL (POST /v1/completions)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
  });
});
