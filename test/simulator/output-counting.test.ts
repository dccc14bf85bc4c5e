/**
 * Anthropic OTPM, the 2026 rule (the default) against the rule of the 2025 docs, through the
 * real SDK: counted as generated, `max_tokens` does not factor in; or reserved from `max_tokens`
 * at the start and settled at the end. A manual clock keeps refill out of the figures.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/testing/index.js';
import { anthropicClient, rejectionOf, start } from './helpers.js';

const ask = (maxTokens: number) => ({
  model: 'claude-sonnet-4-6',
  max_tokens: maxTokens,
  messages: [{ role: 'user' as const, content: 'hi' }],
});

describe('output counted as generated (the 2026 rule, default)', () => {
  it('admits a max_tokens above the whole OTPM and charges only the tokens produced', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { otpm: 1000 },
      outputTokens: 300,
    });
    const client = anthropicClient(sim);
    // 4096 > 1000: under the legacy rule this could never be admitted.
    const first = await client.messages.create(ask(4096));
    expect(first.usage.output_tokens).toBe(300);
    expect(sim.available('otpm')).toBe(700);
    await client.messages.create(ask(4096));
    await client.messages.create(ask(4096));
    expect(sim.available('otpm')).toBe(100);
    // 100 tokens left are enough to start; the answer takes the bucket to -200.
    await client.messages.create(ask(4096));
    expect(sim.available('otpm')).toBe(-200);
    expect(sim.stats().dimensions.otpm).toMatchObject({ charged: 1200, remaining: 0 });

    const refused = await rejectionOf(client.messages.create(ask(4096)));
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    const e = refused as InstanceType<typeof Anthropic.RateLimitError>;
    // 201 tokens at 1000/min: 12.06 s, rounded up.
    expect(e.headers?.get('retry-after')).toBe('13');
    expect(e.message).toContain('1,000 output tokens per minute');
    await clock.advance(13_000);
    await expect(client.messages.create(ask(4096))).resolves.toMatchObject({ type: 'message' });
  });

  it('charges a stream token by token as the deltas go out', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { otpm: 60_000 },
      outputTokens: 40,
      latencyMs: { firstTokenMs: 100, perTokenMs: 10 },
      exactRemaining: true,
    });
    const pending = anthropicClient(sim)
      .messages.create({ ...ask(4096), stream: true })
      .withResponse();
    await vi.waitFor(() => expect(sim.stats().concurrency.current).toBe(1));
    await clock.advance(100);
    const { data: stream, response } = await pending;
    // The stream's headers left at its start: nothing generated, nothing reserved.
    expect(response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('60000');
    const reading = (async () => {
      for await (const _ of stream) {
        // read to the end
      }
    })();
    // The first delta (4 tokens) is due 30 ms after the first token; then 4 tokens per 40 ms.
    await clock.advance(30);
    await vi.waitFor(() => expect(sim.stats().dimensions.otpm?.charged).toBe(4));
    expect(sim.available('otpm')).toBe(60_000 - 4);
    await clock.advance(200);
    await vi.waitFor(() => expect(sim.stats().dimensions.otpm?.charged).toBe(24));
    await clock.advance(200);
    await reading;
    expect(sim.stats().dimensions.otpm?.charged).toBe(40);
    expect(sim.stats().tokens.output).toBe(40);
  });
});

describe('output reserved from max_tokens (the legacy rule)', () => {
  it('refuses a max_tokens above the whole OTPM for good, and holds max_tokens meanwhile', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { otpm: 1000 },
      outputCounting: 'max_tokens',
      outputTokens: 300,
      latencyMs: 1000,
    });
    const client = anthropicClient(sim);
    const never = await rejectionOf(client.messages.create(ask(4096)));
    expect(never).toBeInstanceOf(Anthropic.RateLimitError);
    const e = never as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.headers?.get('retry-after')).toBeNull();
    expect(e.headers?.get('x-should-retry')).toBe('false');

    const pending = client.messages.create(ask(800));
    await vi.waitFor(() => expect(sim.stats().concurrency.current).toBe(1));
    expect(sim.available('otpm')).toBe(200);
    await clock.advance(1000);
    await pending;
    // 1 s of refill (1000/60) and the unused 500 given back.
    expect(sim.available('otpm')).toBeCloseTo(200 + 1000 / 60 + 500, 6);
    expect(sim.stats().dimensions.otpm).toMatchObject({ charged: 300 });
  });
});
