/**
 * A second consumer of the same quota, outside any pipeline: it spends its share of every
 * bucket's refill, so the pipeline sees less than its own usage explains; `sim.stats()` shows it.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/testing/index.js';
import { anthropicClient, openaiClient, start } from './helpers.js';

describe('background traffic', () => {
  it('takes its share of the refill and is shown in stats', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { rpm: 60, itpm: 60_000, otpm: 12_000 },
      background: { share: 0.5 },
      outputTokens: 6000,
      exactRemaining: true,
    });
    const client = anthropicClient(sim);
    const ask = {
      model: 'claude-sonnet-4-6',
      max_tokens: 8000,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    await client.messages.create(ask);
    expect(sim.available('otpm')).toBe(6000);
    // 30 s refill 6,000 output tokens; the other consumer took half.
    await clock.advance(30_000);
    expect(sim.available('otpm')).toBeCloseTo(9000, 6);
    const { response } = await client.messages.create(ask).withResponse();
    expect(response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('3000');
    // Full after (12,000 - 3,000) at half of 200/s: 90 s.
    expect(sim.stats().background.spent).toMatchObject({ rpm: 15, itpm: 15_000, otpm: 3000 });
    await clock.advance(90_000);
    expect(sim.available('otpm')).toBeCloseTo(12_000, 6);
  });

  it('spends tokens per minute of its own on a dimension (perMinute)', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'openai',
      clock,
      limits: { tpm: 60_000 },
      background: { perMinute: { tpm: 45_000 } },
      outputTokens: 10,
    });
    await openaiClient(sim).chat.completions.create({
      model: 'gpt-4o',
      max_tokens: 20_000,
      messages: [{ role: 'user', content: 'x'.repeat(40) }],
    });
    expect(sim.available('tpm')).toBe(60_000 - 20);
    // 20 tokens at the 15,000/min left by the other consumer: 80 ms.
    await clock.advance(40);
    expect(sim.available('tpm')).toBeCloseTo(60_000 - 10, 6);
    expect(sim.stats().background.spent.tpm).toBeCloseTo(30, 6);
  });
});
