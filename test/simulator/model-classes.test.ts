/**
 * Buckets per model class (PROVIDERS.md §1.4, §4.1 H5): requests to two classes never share a
 * bucket; versions of one class do (Sonnet 4.5 and 4.6 are "Sonnet 4.x").
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/testing/index.js';
import { anthropicClient, rejectionOf, start } from './helpers.js';

const ask = (model: string) => ({
  model,
  max_tokens: 5,
  messages: [{ role: 'user' as const, content: 'hi' }],
});

describe('model classes', () => {
  it('give each class its own buckets, shared by the versions of a class', async () => {
    const clock = new ManualClock();
    const sim = await start({ provider: 'anthropic', clock, limits: { rpm: 60 }, perSecond: true });
    const client = anthropicClient(sim);
    // One request per second per class.
    await client.messages.create(ask('claude-sonnet-4-6'));
    await client.messages.create(ask('claude-opus-4-8'));
    const sameClass = await rejectionOf(client.messages.create(ask('claude-sonnet-4-5-20250929')));
    expect(sameClass).toBeInstanceOf(Anthropic.RateLimitError);
    const stats = sim.stats();
    expect(Object.keys(stats.classes).sort()).toEqual(['opus-4.x', 'sonnet-4.x']);
    expect(stats.classes['sonnet-4.x']).toMatchObject({ admitted: 1, rejected: 1 });
    expect(stats.classes['opus-4.x']).toMatchObject({ admitted: 1, rejected: 0 });
    // `dimensions` sums the classes in use.
    expect(stats.dimensions.rpm).toMatchObject({ limit: 120, charged: 2, rejected: 1 });
    expect(sim.available('rpm', 'opus-4.x')).toBe(0);
    expect(() => sim.available('rpm')).toThrow(/modelClass/);
  });

  it('take per-class limits from modelClasses, the rest from limits', async () => {
    const clock = new ManualClock();
    const sim = await start({
      provider: 'anthropic',
      clock,
      limits: { rpm: 50 },
      modelClasses: { 'opus-4.x': { rpm: 2 } },
    });
    const client = anthropicClient(sim);
    // The configured class exists (full) before any request.
    expect(sim.stats().classes['opus-4.x']?.dimensions.rpm).toMatchObject({
      limit: 2,
      remaining: 2,
    });
    await client.messages.create(ask('claude-opus-4-8'));
    await client.messages.create(ask('claude-opus-4-8'));
    const refused = await rejectionOf(client.messages.create(ask('claude-opus-4-8')));
    expect((refused as InstanceType<typeof Anthropic.RateLimitError>).message).toContain(
      'of 2 requests per minute',
    );
    await client.messages.create(ask('claude-haiku-4-5'));
    expect(sim.available('rpm', 'haiku-4.5')).toBe(49);
    // A model without a preset class is its own class, by name.
    await client.messages.create(ask('my-fine-tune'));
    expect(sim.available('rpm', 'my-fine-tune')).toBe(49);
  });
});
