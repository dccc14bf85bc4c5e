/**
 * The tier spend cap (PROVIDERS.md §1.6, §2.4), through the real SDKs: once reached, every
 * request is refused until 00:00 UTC on the first of next month, with no `retry-after`;
 * `classifyError` calls it `quota` (never retried) and `quotaResumeAt` gives that instant.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyError, quotaResumeAt, quotaStop } from '../../src/providers/classify.js';
import { ManualClock } from '../../src/testing/index.js';
import { anthropicClient, openaiClient, rejectionOf, start } from './helpers.js';

const NOV_30_2026_2300Z = Date.UTC(2026, 10, 30, 23, 0, 0);
const DEC_1_2026 = Date.UTC(2026, 11, 1);

describe('Anthropic spend cap', () => {
  it('answers 429 enforced_spend_limit_reached without retry-after until the first of next month', async () => {
    const clock = new ManualClock(NOV_30_2026_2300Z);
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { rpm: 50 },
      faults: { script: [{ kind: 'spend_cap' }] },
    });
    const client = anthropicClient(sim);
    const params = {
      model: 'claude-sonnet-4-6',
      max_tokens: 5,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const error = await rejectionOf(client.messages.create(params));
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const e = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.headers?.get('retry-after')).toBeNull();
    expect(e.headers?.get('request-id')).toMatch(/^req_011C/);
    expect(e.error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error', details: { error_code: 'enforced_spend_limit_reached' } },
      request_id: e.headers?.get('request-id'),
    });
    expect(classifyError(e)).toMatchObject({ kind: 'quota', retryable: false, transient: false });
    expect(quotaStop(e, clock.now())).toEqual({ reason: 'spend-cap', resumeAt: DEC_1_2026 });

    // Every request is refused until then, and nothing is charged.
    await clock.advance(59 * 60_000);
    const again = await rejectionOf(client.messages.create(params));
    expect(classifyError(again).kind).toBe('quota');
    expect(sim.stats().spendCap).toEqual({ until: DEC_1_2026, refused: 2 });
    expect(sim.stats().admitted).toBe(0);
    expect(sim.available('rpm')).toBe(50);

    await clock.advance(60_000);
    expect(clock.now()).toBeGreaterThanOrEqual(DEC_1_2026);
    await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
    expect(sim.stats().spendCap).toEqual({ until: null, refused: 2 });
    expect(sim.stats().faults).toEqual({ spend_cap: 1 });
  });
});

describe('OpenAI usage limit', () => {
  it('answers 429 insufficient_quota, a quota error with no stated end', async () => {
    const clock = new ManualClock(NOV_30_2026_2300Z);
    const sim = await start({
      provider: 'openai',
      clock,
      faults: { script: [{ kind: 'spend_cap' }] },
    });
    const client = openaiClient(sim);
    const params = {
      model: 'gpt-4o',
      max_tokens: 5,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const error = await rejectionOf(client.chat.completions.create(params));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const e = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e).toMatchObject({ code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(e.headers?.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(classifyError(e)).toMatchObject({ kind: 'quota', retryable: false });
    expect(quotaResumeAt(e, clock.now())).toBeUndefined();
    await rejectionOf(client.chat.completions.create(params));
    await clock.advance(60 * 60_000);
    await expect(client.chat.completions.create(params)).resolves.toMatchObject({
      object: 'chat.completion',
    });
  });
});
