/** OpenAI requests and tokens per day (PROVIDERS.md §2.1): buckets refilled over 24 hours. */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/testing/index.js';
import { openaiClient, rejectionOf, start } from './helpers.js';

const ask = (maxTokens = 10) => ({
  model: 'gpt-4o-mini',
  max_tokens: maxTokens,
  messages: [{ role: 'user' as const, content: 'x'.repeat(40) }],
});

describe('per-day limits', () => {
  it('refuse the request past RPD with the day in the message, for hours', async () => {
    const clock = new ManualClock();
    const sim = await start({ provider: 'openai', clock, limits: { rpm: 500, rpd: 3 } });
    const client = openaiClient(sim);
    for (let i = 0; i < 3; i++) await client.chat.completions.create(ask());
    const error = await rejectionOf(client.chat.completions.create(ask()));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const e = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(e.message).toContain('on requests per day (RPD): Limit 3, Used 3, Requested 1');
    // One request of 3 per day comes back in 8 hours.
    expect(e.headers?.get('retry-after')).toBe(String(8 * 3600));
    expect(e.message).toContain('Please try again in 8h0m0s');
    expect(sim.stats().dimensions.rpd).toMatchObject({ limit: 3, rejected: 1 });
    await clock.advance(8 * 3_600_000);
    await expect(client.chat.completions.create(ask())).resolves.toMatchObject({
      object: 'chat.completion',
    });
  });

  it('charge TPD like TPM: prompt + max_tokens, settled to the tokens used', async () => {
    const clock = new ManualClock();
    const sim = await start({ provider: 'openai', clock, limits: { tpd: 1000 }, outputTokens: 5 });
    const client = openaiClient(sim);
    await client.chat.completions.create(ask(100));
    expect(sim.available('tpd')).toBe(1000 - 15);
    const error = await rejectionOf(client.chat.completions.create(ask(990)));
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).message).toContain(
      'on tokens per day (TPD)',
    );
  });
});
