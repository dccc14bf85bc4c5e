import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it, vi } from 'vitest';
import { classifyError } from '../../src/providers/classify.js';
import { parseRfc3339 } from '../../src/retry/retry-after.js';
import { formatRfc3339 } from '../../src/simulator/durations.js';
import { ManualClock } from '../../src/testing/index.js';
import { anthropicClient, rejectionOf, start } from './helpers.js';

const params = {
  model: 'claude-sonnet-4',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'x'.repeat(40) }],
};

describe('Anthropic Messages over HTTP (real SDK)', () => {
  it('answers a JSON message with usage, request id and rate-limit headers', async () => {
    // A manual clock keeps refill from moving the numbers between admission and the headers.
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { rpm: 50, itpm: 20_000, otpm: 4000 },
    });
    const { data, response } = await anthropicClient(sim).messages.create(params).withResponse();
    expect(data).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4',
      stop_sequence: null,
    });
    expect(data.id).toMatch(/^msg_01/);
    expect(data.content).toHaveLength(1);
    const block = data.content[0];
    if (block?.type !== 'text') throw new Error('expected a text block');
    expect(Math.ceil(block.text.length / 4)).toBe(data.usage.output_tokens);
    expect(data.usage.input_tokens).toBe(10);
    expect(data.usage.cache_creation_input_tokens).toBe(0);
    expect(data.usage.cache_read_input_tokens).toBe(0);
    expect(data.usage.output_tokens).toBeGreaterThanOrEqual(1);
    expect(data.usage.output_tokens).toBeLessThanOrEqual(64);
    expect(data.stop_reason).toBe(data.usage.output_tokens === 64 ? 'max_tokens' : 'end_turn');

    const h = response.headers;
    expect(h.get('request-id')).toMatch(/^req_011C[0-9A-Za-z]{20}$/);
    expect(h.get('anthropic-ratelimit-requests-limit')).toBe('50');
    expect(h.get('anthropic-ratelimit-requests-remaining')).toBe('49');
    expect(h.get('anthropic-ratelimit-input-tokens-limit')).toBe('20000');
    // Token figures are rounded to the nearest thousand, as the API does: 19,990 reads 20000.
    expect(h.get('anthropic-ratelimit-input-tokens-remaining')).toBe('20000');
    // Output counted as generated, when the JSON answer leaves: 4,000 less 1-64 reads 4000.
    expect(h.get('anthropic-ratelimit-output-tokens-remaining')).toBe('4000');
    // `tokens` is the sum of input and output.
    expect(h.get('anthropic-ratelimit-tokens-limit')).toBe('24000');
    expect(h.get('anthropic-ratelimit-tokens-remaining')).toBe('24000');
    // One request refills in 60000/50 ms = 1.2 s, rounded up to the next whole second.
    expect(h.get('anthropic-ratelimit-requests-reset')).toBe(formatRfc3339(clock.now() + 1200));
    for (const name of ['requests', 'input-tokens', 'output-tokens', 'tokens']) {
      const reset = parseRfc3339(h.get(`anthropic-ratelimit-${name}-reset`) ?? '');
      expect(reset).toBeGreaterThan(clock.now());
      expect(reset).toBeLessThanOrEqual(clock.now() + 61_000);
    }
  });

  it('is repeatable: the same seed gives the same output, another seed another', async () => {
    const texts = async (seed: number) => {
      const sim = await start({ provider: 'anthropic', seed });
      const client = anthropicClient(sim);
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = await client.messages.create(params);
        out.push(
          `${m.usage.output_tokens}:${m.content[0]?.type === 'text' ? m.content[0].text : ''}`,
        );
      }
      return out;
    };
    const a = await texts(42);
    expect(await texts(42)).toEqual(a);
    expect(await texts(43)).not.toEqual(a);
  });

  it('streams every event type and the final usage', async () => {
    const sim = await start({ provider: 'anthropic', outputTokens: { min: 20, max: 30 } });
    const stream = await anthropicClient(sim).messages.create({ ...params, stream: true });
    const types: string[] = [];
    let text = '';
    let finalOutput = -1;
    let inputAtStart = -1;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'message_start') inputAtStart = event.message.usage.input_tokens;
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
        text += event.delta.text;
      if (event.type === 'message_delta') finalOutput = event.usage.output_tokens;
    }
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types).toContain('content_block_delta');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(inputAtStart).toBe(10);
    expect(finalOutput).toBe(Math.ceil(text.length / 4));
    expect(finalOutput).toBeGreaterThanOrEqual(20);
    expect(finalOutput).toBeLessThanOrEqual(30);

    const final = await anthropicClient(sim).messages.stream(params).finalMessage();
    expect(final.usage.input_tokens).toBe(10);
    expect(final.usage.output_tokens).toBeGreaterThanOrEqual(20);
  });

  it('refuses with a 429 rate_limit_error, retry-after and the headers once RPM is spent', async () => {
    const sim = await start({
      provider: 'anthropic',
      clock: new ManualClock(),
      limits: { rpm: 2 },
    });
    const client = anthropicClient(sim);
    await client.messages.create(params);
    await client.messages.create(params);
    const error = await rejectionOf(client.messages.create(params));
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const e = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(e.message).toContain('2 requests per minute');
    expect(e.requestID).toMatch(/^req_/);
    const retryAfter = Number(e.headers?.get('retry-after'));
    // One request refills in 30 s at 2 RPM.
    expect(retryAfter).toBe(30);
    expect(e.headers?.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(e.headers?.get('x-should-retry')).toBe('true');
    const stats = sim.stats();
    expect(stats.statuses).toEqual({ '200': 2, '429': 1 });
    expect(stats.dimensions.rpm).toMatchObject({ limit: 2, rejected: 1, charged: 2 });
  });

  it('surfaces each scripted fault as the SDK error class', async () => {
    const sim = await start({
      provider: 'anthropic',
      faults: {
        script: [
          { kind: 'overloaded' },
          { kind: 'server_error' },
          { kind: 'bad_gateway' },
          { kind: 'service_unavailable' },
          { kind: 'billing' },
          { kind: 'insufficient_quota' },
          { kind: 'authentication' },
          { kind: 'invalid_request' },
        ],
      },
    });
    const client = anthropicClient(sim);
    const expected = [
      [Anthropic.OverloadedError, 529, 'overloaded_error'],
      [Anthropic.InternalServerError, 500, 'api_error'],
      [Anthropic.InternalServerError, 502, 'api_error'],
      [Anthropic.ServiceUnavailableError, 503, 'api_error'],
      [Anthropic.PaymentRequiredError, 402, 'billing_error'],
      [Anthropic.BadRequestError, 400, 'invalid_request_error'],
      [Anthropic.AuthenticationError, 401, 'authentication_error'],
      [Anthropic.BadRequestError, 400, 'invalid_request_error'],
    ] as const;
    for (const [cls, status, type] of expected) {
      const error = await rejectionOf(client.messages.create(params));
      expect(error).toBeInstanceOf(cls);
      const e = error as InstanceType<typeof Anthropic.APIError>;
      expect(e.status).toBe(status);
      expect(e.error).toMatchObject({ type: 'error', error: { type } });
      expect(e.headers?.get('request-id')).toMatch(/^req_/);
      if (status >= 500) {
        expect(error).toBeInstanceOf(Anthropic.InternalServerError);
        expect(e.headers?.get('x-should-retry')).toBe('true');
      }
    }
    expect(sim.stats().faults).toMatchObject({ overloaded: 1, billing: 1, insufficient_quota: 1 });
    // The script is used up: the next request is served.
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
  });

  it('plays "429 with retry-after 1, then 200" exactly', async () => {
    const sim = await start({
      provider: 'anthropic',
      faults: {
        script: [{ kind: 'rate_limit', retryAfterSeconds: 1 }, { kind: 'ok' }],
        rates: { overloaded: 1 },
      },
    });
    const client = anthropicClient(sim);
    const error = await rejectionOf(client.messages.create(params));
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(
      (error as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after'),
    ).toBe('1');
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    // After the script, the random rate (here 100% overloaded) applies again.
    expect(await rejectionOf(client.messages.create(params))).toBeInstanceOf(
      Anthropic.OverloadedError,
    );
  });

  it('refuses a wrong key with 401 and a missing field or bad JSON with the 400 body', async () => {
    const sim = await start({ provider: 'anthropic', apiKey: 'sk-right' });
    const wrong = await rejectionOf(
      anthropicClient(sim, { apiKey: 'sk-wrong' }).messages.create(params),
    );
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((wrong as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: 'authentication_error' },
    });

    const client = anthropicClient(sim, { apiKey: 'sk-right' });
    const missing = await rejectionOf(
      client.messages.create({ model: 'm', messages: params.messages } as unknown as typeof params),
    );
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect((missing as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
    });

    const raw = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'sk-right',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: '{"model": "m", ',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    });
  });

  it('answers 413 request_too_large for a body over the limit', async () => {
    const sim = await start({ provider: 'anthropic', maxBodyBytes: 2048 });
    const error = await rejectionOf(
      anthropicClient(sim).messages.create({
        ...params,
        messages: [{ role: 'user', content: 'y'.repeat(10_000) }],
      }),
    );
    expect(error).toBeInstanceOf(Anthropic.ContentTooLargeError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'request_too_large' },
    });
    expect(sim.stats().statuses).toEqual({ '413': 1 });
  });

  it('drops the connection before the response, and mid-stream', async () => {
    const sim = await start({
      provider: 'anthropic',
      outputTokens: 40,
      faults: {
        script: [
          { kind: 'connection_reset' },
          { kind: 'reset_mid_stream' },
          { kind: 'reset_mid_stream' },
        ],
      },
    });
    const client = anthropicClient(sim);
    expect(await rejectionOf(client.messages.create(params))).toBeInstanceOf(
      Anthropic.APIConnectionError,
    );
    // Non-streaming: the headers and half the JSON arrive, then the reset.
    const broken = await rejectionOf(client.messages.create(params));
    expect(broken).toBeInstanceOf(Error);
    expect(sim.stats().statuses).toEqual({ '200': 1 });

    const stream = await client.messages.create({ ...params, stream: true });
    const seen: string[] = [];
    const failure = await rejectionOf(
      (async () => {
        for await (const event of stream) seen.push(event.type);
      })(),
    );
    expect(failure).toBeInstanceOf(Error);
    expect(seen[0]).toBe('message_start');
    expect(seen).not.toContain('message_stop');
    const stats = sim.stats();
    expect(stats.faults).toEqual({ connection_reset: 1, reset_mid_stream: 2 });
    // Charged at the start, settled to the output produced: all 40 tokens of the JSON answer,
    // 20 tokens delivered before the drop of the stream.
    expect(stats.tokens.output).toBe(60);
    expect(stats.concurrency.current).toBe(0);
  });

  it('ends a stream with an overloaded_error event after some deltas (error_mid_stream)', async () => {
    // A manual clock keeps refill out of the OTPM numbers.
    const sim = await start({
      provider: 'anthropic',
      clock: new ManualClock(),
      limits: { otpm: 4000 },
      outputTokens: 40,
      faults: { script: [{ kind: 'error_mid_stream' }] },
    });
    const stream = await anthropicClient(sim).messages.create({ ...params, stream: true });
    const types: string[] = [];
    const deltas: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const event of stream) {
          types.push(event.type);
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
            deltas.push(event.delta.text);
        }
      })(),
    );
    // The SDK throws the base APIError, without status, carrying the event's body and type.
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error).not.toBeInstanceOf(Anthropic.APIConnectionError);
    const e = error as InstanceType<typeof Anthropic.APIError>;
    expect(e.status).toBeUndefined();
    expect(e.type).toBe('overloaded_error');
    expect(e.apiMessage).toBe('Overloaded');
    expect(e.error).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    expect(e.requestID).toMatch(/^req_011C/);
    expect(classifyError(error)).toMatchObject({
      kind: 'overloaded',
      transient: true,
      retryable: true,
      providerFailure: true,
    });
    expect(classifyError(error).status).toBeUndefined();

    // Half of the ten 4-token deltas arrived, and no end of message.
    expect(types.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
    expect(deltas).toHaveLength(5);
    expect(types).not.toContain('message_stop');
    const delivered = deltas.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
    expect(delivered).toBe(20);
    const stats = sim.stats();
    expect(stats).toMatchObject({
      admitted: 1,
      statuses: { '200': 1 },
      faults: { error_mid_stream: 1 },
      clientAborts: 0,
      tokens: { output: delivered },
    });
    // Charged max_tokens at the start, settled to what was delivered.
    expect(stats.dimensions.otpm?.charged).toBe(delivered);
    expect(sim.available('otpm')).toBe(4000 - delivered);
    expect(stats.concurrency.current).toBe(0);
  });

  it('ends the response cleanly after the error event (no reset)', async () => {
    const sim = await start({
      provider: 'anthropic',
      outputTokens: 40,
      faults: { rates: { error_mid_stream: 1 } },
    });
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'test',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...params, stream: true }),
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.split('event: content_block_delta\n')).toHaveLength(6);
    expect(body).toMatch(
      /\n\nevent: error\ndata: \{"type":"error","error":\{"type":"overloaded_error","message":"Overloaded"\}\}\n\n$/,
    );
    expect(sim.stats().faults).toEqual({ error_mid_stream: 1 });
  });

  it('answers a JSON request 529 after the generation time (error_mid_stream)', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { rpm: 50, otpm: 4000 },
      outputTokens: 40,
      latencyMs: { firstTokenMs: 500, perTokenMs: 10 },
      faults: { script: [{ kind: 'error_mid_stream' }] },
    });
    let done = false;
    const pending = rejectionOf(
      anthropicClient(sim)
        .messages.create(params)
        .finally(() => {
          done = true;
        }),
    );
    await vi.waitFor(() => expect(sim.stats().concurrency.current).toBe(1));
    // 500 ms to the first token, then 39 more tokens at 10 ms.
    await clock.advance(889);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    await clock.advance(1);
    const error = await pending;
    expect(error).toBeInstanceOf(Anthropic.OverloadedError);
    const e = error as InstanceType<typeof Anthropic.APIError>;
    expect(e.status).toBe(529);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(e.headers?.get('x-should-retry')).toBe('true');
    expect(e.headers?.get('anthropic-ratelimit-requests-remaining')).toBe('49');
    expect(classifyError(error)).toMatchObject({ kind: 'overloaded', status: 529 });
    // Admitted and charged; nothing was delivered, so OTPM settles to 0 output tokens.
    const stats = sim.stats();
    expect(stats).toMatchObject({
      admitted: 1,
      statuses: { '529': 1 },
      faults: { error_mid_stream: 1 },
      tokens: { output: 0 },
    });
    expect(stats.dimensions.rpm?.charged).toBe(1);
    expect(stats.dimensions.otpm?.charged).toBe(0);
  });

  it('delays the first byte past a client timeout', async () => {
    const sim = await start({
      provider: 'anthropic',
      faults: { script: [{ kind: 'slow_first_byte', delayMs: 20_000 }] },
    });
    const error = await rejectionOf(anthropicClient(sim, { timeout: 300 }).messages.create(params));
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    await expect.poll(() => sim.stats().clientAborts).toBe(1);
  });

  it('answers unknown routes with not_found_error', async () => {
    const sim = await start({ provider: 'anthropic' });
    const res = await fetch(`${sim.url}/v1/complete`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});
