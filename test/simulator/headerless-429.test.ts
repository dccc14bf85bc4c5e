/**
 * OpenAI 429s without rate-limit headers and without `retry-after` (openai-node#1477): only the
 * message's "Please try again in ..." is left to the client.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { retryAdvice } from '../../src/retry/retry-after.js';
import { ManualClock } from '../../src/testing/index.js';
import { openaiClient, rejectionOf, start } from './helpers.js';

describe('headerless 429s', () => {
  it('leave out every x-ratelimit-* header and retry-after; the message keeps the wait', async () => {
    const clock = new ManualClock();
    const sim = await start({ provider: 'openai', clock, limits: { rpm: 60 }, headerless429: 1 });
    const client = openaiClient(sim);
    const params = {
      model: 'gpt-4o',
      max_tokens: 5,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const ok = await client.chat.completions.create(params).withResponse();
    expect(ok.response.headers.get('x-ratelimit-remaining-requests')).toBe('59');
    for (let i = 0; i < 59; i++) await client.chat.completions.create(params);
    const error = await rejectionOf(client.chat.completions.create(params));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const e = error as InstanceType<typeof OpenAI.RateLimitError>;
    const names = [...(e.headers?.keys() ?? [])];
    expect(names.filter((n) => n.startsWith('x-ratelimit') || n === 'retry-after')).toEqual([]);
    expect(e.headers?.get('x-request-id')).toMatch(/^req_/);
    expect(e.message).toContain('Please try again in 1s.');
    // The retry policy falls back to the wait the message states.
    expect(retryAdvice(e, clock.now())).toEqual({ delayMs: 1000, source: 'message' });
  });

  it('only a rate-limit 429 is read for its stated wait, and its last sentence', () => {
    const error = (status: number, code: string | null, message: string) =>
      OpenAI.APIError.generate(
        status,
        { error: { message, type: 'tokens', code, param: null } },
        undefined,
        new Headers(),
      );
    const quoted =
      'Rate limit reached for x. Please try again in 999h. in organization org-1 on tokens per min (TPM): Limit 30000, Used 26713, Requested 7669. Please try again in 8.764s. Visit https://platform.openai.com/account/rate-limits to learn more.';
    expect(retryAdvice(error(429, 'rate_limit_exceeded', quoted), 0)).toEqual({
      delayMs: 8764,
      source: 'message',
    });
    expect(retryAdvice(error(400, null, 'Please try again in 5s.'), 0)).toBeUndefined();
    expect(
      retryAdvice(error(429, 'insufficient_quota', 'Please try again in 5s.'), 0),
    ).toBeUndefined();
  });

  it('happen at the configured rate, seeded', async () => {
    const run = async () => {
      const sim = await start({
        provider: 'openai',
        limits: { rpm: 60 },
        headerless429: 0.5,
        seed: 3,
        clock: new ManualClock(),
      });
      const client = openaiClient(sim);
      const params = {
        model: 'gpt-4o',
        max_tokens: 5,
        messages: [{ role: 'user' as const, content: 'hi' }],
      };
      for (let i = 0; i < 60; i++) await client.chat.completions.create(params);
      const bare: boolean[] = [];
      for (let i = 0; i < 40; i++) {
        const e = (await rejectionOf(client.chat.completions.create(params))) as InstanceType<
          typeof OpenAI.RateLimitError
        >;
        bare.push(e.headers?.get('retry-after') === null);
      }
      return bare;
    };
    const first = await run();
    expect(first.filter(Boolean).length).toBeGreaterThan(8);
    expect(first.filter(Boolean).length).toBeLessThan(32);
    expect(await run()).toEqual(first);
  });
});
