/**
 * Rate-limit headers as the providers send them (PROVIDERS.md §1.5, §2.3), read through the real
 * SDKs: Anthropic's `tokens-*` the sum of input and output, token figures rounded to the nearest
 * thousand, RFC 3339 resets at whole seconds; OpenAI's exact figures and Go-duration resets. And
 * when they are computed: as the bucket stands when the response leaves.
 */
import { describe, expect, it, vi } from 'vitest';
import { readRateLimitHeaders } from '../../src/providers/rate-limit-headers.js';
import { ManualClock } from '../../src/testing/index.js';
import { anthropicClient, openaiClient, start } from './helpers.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const GO_DURATION = /^(?:\d+h)?(?:\d+m)?(?:\d+(?:\.\d+)?s|\d+ms)$/;

const anthropicAsk = (maxTokens: number, content = 'hi') => ({
  model: 'claude-sonnet-4-6',
  max_tokens: maxTokens,
  messages: [{ role: 'user' as const, content }],
});

describe('Anthropic headers', () => {
  it('send tokens-* as input + output, rounded to the nearest thousand, resets in RFC 3339', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { rpm: 50, itpm: 80_000, otpm: 16_000 },
      outputTokens: 3600,
    });
    const client = anthropicClient(sim);
    // 2,000 input tokens and 3,600 output: 78,000 and 12,400 remain.
    const { response } = await client.messages
      .create(anthropicAsk(4000, 'x'.repeat(8000)))
      .withResponse();
    const h = response.headers;
    expect(h.get('anthropic-ratelimit-requests-remaining')).toBe('49');
    expect(h.get('anthropic-ratelimit-input-tokens-remaining')).toBe('78000');
    expect(h.get('anthropic-ratelimit-output-tokens-remaining')).toBe('12000');
    expect(h.get('anthropic-ratelimit-tokens-limit')).toBe('96000');
    expect(h.get('anthropic-ratelimit-tokens-remaining')).toBe('90000');
    for (const name of ['requests', 'input-tokens', 'output-tokens', 'tokens'])
      expect(h.get(`anthropic-ratelimit-${name}-reset`)).toMatch(RFC3339);
    // The sum's reset is the earlier of the two (as in both recorded samples).
    const read = readRateLimitHeaders('anthropic', h, clock.now());
    expect(read.tokens?.resetAtMs).toBe(
      Math.min(read['input-tokens']?.resetAtMs ?? 0, read['output-tokens']?.resetAtMs ?? 0),
    );
  });

  it('send exact figures when asked (exactRemaining)', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { itpm: 80_000, otpm: 16_000 },
      outputTokens: 3600,
      exactRemaining: true,
    });
    const { response } = await anthropicClient(sim)
      .messages.create(anthropicAsk(4000, 'x'.repeat(8000)))
      .withResponse();
    expect(response.headers.get('anthropic-ratelimit-input-tokens-remaining')).toBe('78000');
    expect(response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('12400');
    expect(response.headers.get('anthropic-ratelimit-tokens-remaining')).toBe('90400');
  });

  it('describe the bucket when the response leaves: a JSON answer after its own settlement', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { otpm: 16_000 },
      outputCounting: 'max_tokens',
      outputTokens: 100,
      exactRemaining: true,
    });
    const client = anthropicClient(sim);
    // Reserved 4,000 at the start, 3,900 given back before the headers are written.
    const json = await client.messages.create(anthropicAsk(4000)).withResponse();
    expect(json.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('15900');
    expect(sim.available('otpm')).toBe(15_900);
    // A stream's headers leave at its start: the reservation is still held then.
    const stream = await client.messages
      .create({ ...anthropicAsk(4000), stream: true })
      .withResponse();
    expect(stream.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe(
      '11900',
    );
    for await (const _ of stream.data) {
      // read to the end: the settlement follows the last event
    }
    await vi.waitFor(() => expect(sim.available('otpm')).toBe(15_800));
  });

  it('carry request-id as recorded and a 22-character message id', async () => {
    const sim = await start({ provider: 'anthropic' });
    const { data, response } = await anthropicClient(sim)
      .messages.create(anthropicAsk(5))
      .withResponse();
    expect(response.headers.get('request-id')).toMatch(/^req_011C[1-9A-HJ-NP-Za-km-z]{20}$/);
    expect(data.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
  });
});

describe('OpenAI headers', () => {
  it('send exact remaining and Go-duration resets (1m0s for an empty minute bucket)', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'openai',
      clock,
      limits: { rpm: 1, tpm: 30_000 },
      outputTokens: 17,
    });
    const { data, response } = await openaiClient(sim)
      .chat.completions.create({
        model: 'gpt-4o',
        max_tokens: 500,
        messages: [{ role: 'user', content: 'x'.repeat(40) }],
      })
      .withResponse();
    const h = response.headers;
    expect(data.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 17 });
    expect(h.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(h.get('x-ratelimit-reset-requests')).toBe('1m0s');
    expect(h.get('x-ratelimit-remaining-tokens')).toBe(String(30_000 - 27));
    expect(h.get('x-ratelimit-reset-tokens')).toMatch(GO_DURATION);
    expect(h.get('x-ratelimit-reset-tokens')).toBe('54ms');
    expect(h.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });
});
