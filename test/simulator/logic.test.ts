import { describe, expect, it } from 'vitest';
import { isInvalidConfigError } from '../../src/errors/index.js';
import {
  FAULT_KINDS,
  type FaultKind,
  FaultPlan,
  type ScriptStep,
} from '../../src/simulator/faults.js';
import { startSimulator } from '../../src/simulator/index.js';
import { drawTiming } from '../../src/simulator/latency.js';
import { resolveOptions } from '../../src/simulator/options.js';
import { drawOutputTokens, generateOutput } from '../../src/simulator/output.js';
import { PromptCache } from '../../src/simulator/prompt-cache.js';
import { seededRandom } from '../../src/simulator/rng.js';
import {
  anthropicPromptPieces,
  countTokens,
  openaiPromptTokens,
} from '../../src/simulator/tokens.js';

describe('token counting rule', () => {
  it('counts ceil(length / 4) per piece', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('abc')).toBe(1);
    expect(countTokens('abcd')).toBe(1);
    expect(countTokens('abcde')).toBe(2);
    const pieces = anthropicPromptPieces({
      system: 'x'.repeat(8),
      messages: [
        { role: 'user', content: 'y'.repeat(5) },
        {
          role: 'user',
          content: [{ type: 'text', text: 'z'.repeat(4), cache_control: { type: 'ephemeral' } }],
        },
      ],
    });
    expect(pieces.map((p) => p.tokens)).toEqual([2, 2, 1]);
    expect(pieces.map((p) => p.breakpoint)).toEqual([false, false, true]);
    expect(
      openaiPromptTokens({
        messages: [
          { role: 'user', content: 'a'.repeat(9) },
          { role: 'system', content: 'bb' },
        ],
      }),
    ).toBe(4);
  });
});

describe('prompt cache', () => {
  const pieces = (n: number) => [
    { text: 'p'.repeat(n * 4), tokens: n, breakpoint: true },
    { text: 'question', tokens: 2, breakpoint: false },
  ];

  it('writes a prefix once, then reads it within the TTL, then writes again', () => {
    const cache = new PromptCache(1024, 300_000);
    const first = cache.plan('m', pieces(2000), 0);
    expect(first.usage).toEqual({
      input_tokens: 2,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 0,
    });
    first.commit(0);
    expect(cache.plan('m', pieces(2000), 1000).usage).toEqual({
      input_tokens: 2,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 2000,
    });
    expect(cache.plan('other-model', pieces(2000), 1000).usage.cache_read_input_tokens).toBe(0);
    expect(cache.plan('m', pieces(2000), 301_000).usage.cache_creation_input_tokens).toBe(2000);
  });

  it('does not cache prefixes below the minimum, nor uncommitted plans', () => {
    const cache = new PromptCache(1024, 300_000);
    expect(cache.plan('m', pieces(100), 0).usage).toEqual({
      input_tokens: 102,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    cache.plan('m', pieces(2000), 0); // never committed (e.g. refused with a 429)
    expect(cache.plan('m', pieces(2000), 1).usage.cache_read_input_tokens).toBe(0);
  });
});

describe('seeded output', () => {
  it('is repeatable and counts exactly the drawn tokens', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    for (let i = 0; i < 50; i++) {
      const n = drawOutputTokens(a, 300, undefined);
      expect(drawOutputTokens(b, 300, undefined)).toBe(n);
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(300);
      const out = generateOutput(a, n, 300);
      generateOutput(b, n, 300);
      expect(out.chunks.reduce((sum, c) => sum + countTokens(c), 0)).toBe(n);
      expect(out.truncated).toBe(n === 300);
    }
  });

  it('caps a configured range at max_tokens', () => {
    expect(drawOutputTokens(seededRandom(1), 10, { min: 50, max: 80 })).toBe(10);
  });
});

describe('fault plan', () => {
  it('plays the script first, then draws against the rates', () => {
    const plan = new FaultPlan(
      {
        script: [{ kind: 'rate_limit', retryAfterSeconds: 3 }, { kind: 'ok' }],
        rates: { server_error: 1 },
      },
      seededRandom(1),
      5000,
    );
    expect(plan.next()).toEqual({ kind: 'rate_limit', retryAfterSeconds: 3 });
    expect(plan.next()).toEqual({ kind: 'none', scripted: true });
    expect(plan.next()).toEqual({ kind: 'server_error' });
  });

  it('lists every fault kind once, and plays each from a script step and from a rate', () => {
    // A Record over FaultKind: a kind missing here or in FAULT_KINDS fails the build or the test.
    const every: Record<FaultKind, true> = {
      rate_limit: true,
      overloaded: true,
      server_error: true,
      bad_gateway: true,
      service_unavailable: true,
      connection_reset: true,
      reset_mid_stream: true,
      error_mid_stream: true,
      error_at_stream_start: true,
      close_at_stream_start: true,
      slow_first_byte: true,
      slow_first_event: true,
      insufficient_quota: true,
      billing: true,
      authentication: true,
      invalid_request: true,
      spend_cap: true,
    };
    expect([...FAULT_KINDS].sort()).toEqual(Object.keys(every).sort());
    for (const kind of FAULT_KINDS) {
      const plan = new FaultPlan(
        { script: [{ kind } as ScriptStep], rates: { [kind]: 1 } },
        seededRandom(5),
        7,
      );
      expect(plan.next().kind).toBe(kind);
      expect(plan.next().kind).toBe(kind);
    }
  });

  it('injects each fault at about its rate', () => {
    const plan = new FaultPlan(
      { rates: { overloaded: 0.1, connection_reset: 0.05 } },
      seededRandom(3),
      0,
    );
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const { kind } = plan.next();
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    expect(counts.overloaded).toBeGreaterThan(850);
    expect(counts.overloaded).toBeLessThan(1150);
    expect(counts.connection_reset).toBeGreaterThan(380);
    expect(counts.connection_reset).toBeLessThan(620);
  });
});

describe('option validation', () => {
  it.each([
    [{ provider: 'anthropic', limits: { rpm: -1 } }, 'limits.rpm'],
    [{ provider: 'anthropic', limits: { itpm: Number.NaN } }, 'limits.itpm'],
    [{ provider: 'anthropic', limits: { tpm: 1000 } }, 'limits.tpm'],
    [{ provider: 'openai', limits: { otpm: 1000 } }, 'limits.otpm'],
    [{ provider: 'openai', limits: { concurrent: 1.5 } }, 'limits.concurrent'],
    [{ provider: 'anthropic', limits: { rpm: 50 }, perSecond: true }, 'limits.rpm'],
    [
      { provider: 'anthropic', faults: { rates: { overloaded: 0.7, server_error: 0.5 } } },
      'faults.rates',
    ],
    [{ provider: 'anthropic', faults: { rates: { overloaded: 2 } } }, 'faults.rates.overloaded'],
    [{ provider: 'anthropic', latencyMs: -1 }, 'latencyMs.firstTokenMs'],
    [{ provider: 'anthropic', outputTokens: { min: 10, max: 5 } }, 'outputTokens.max'],
    [{ provider: 'anthropic', port: 70_000 }, 'port'],
    [{ provider: 'gemini' }, 'provider'],
    [{ provider: 'anthropic', limits: { rpd: 100 } }, 'limits.rpd'],
    [{ provider: 'openai', limits: { rpd: 100 }, perSecond: ['rpd'] }, 'perSecond'],
    [{ provider: 'anthropic', outputCounting: 'estimated' }, 'outputCounting'],
    [{ provider: 'openai', outputCounting: 'generated' }, 'outputCounting'],
    [
      { provider: 'anthropic', modelClasses: { 'opus-4.x': { tpm: 10 } } },
      'modelClasses.opus-4.x.tpm',
    ],
    [
      { provider: 'anthropic', modelClasses: { 'opus-4.x': { concurrent: 2 } } },
      'modelClasses.opus-4.x.concurrent',
    ],
    [{ provider: 'anthropic', background: { share: 1 } }, 'background.share'],
    [
      { provider: 'anthropic', limits: { rpm: 50 }, background: { perMinute: { rpm: 50 } } },
      'background.perMinute.rpm',
    ],
    [{ provider: 'openai', background: { perMinute: { rpd: 5 } } }, 'background.perMinute.rpd'],
    [{ provider: 'openai', headerless429: 1.5 }, 'headerless429'],
    [{ provider: 'anthropic', exactRemaining: 'yes' }, 'exactRemaining'],
  ])('refuses %j naming %s', (options, option) => {
    let caught: unknown;
    try {
      resolveOptions(options as never);
    } catch (error) {
      caught = error;
    }
    expect(isInvalidConfigError(caught)).toBe(true);
    expect((caught as { option: string }).option).toBe(option);
  });

  it('perSecond: true enforces every per-minute dimension per second, and leaves the daily ones', () => {
    const resolved = resolveOptions({
      provider: 'openai',
      limits: { rpm: 600, tpm: 6000, rpd: 100 },
      perSecond: true,
    });
    expect([...resolved.perSecond].sort()).toEqual(['rpm', 'tpm']);
  });

  it('refuses at startSimulator, before binding anything', async () => {
    await expect(startSimulator({ provider: 'openai', limits: { rpm: 0 } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      option: 'limits.rpm',
    });
  });
});

describe('latency model', () => {
  it('spreads both times uniformly within ±jitter, repeatably for a seed', () => {
    const model = { firstTokenMs: 400, perTokenMs: 10, jitter: 0.25 };
    const a = seededRandom(9);
    const b = seededRandom(9);
    let low = Number.POSITIVE_INFINITY;
    let high = 0;
    for (let i = 0; i < 2000; i++) {
      const t = drawTiming(a, model);
      expect(drawTiming(b, model)).toEqual(t);
      expect(t.firstTokenMs).toBeGreaterThanOrEqual(300);
      expect(t.firstTokenMs).toBeLessThanOrEqual(500);
      expect(t.perTokenMs).toBeGreaterThanOrEqual(7.5);
      expect(t.perTokenMs).toBeLessThanOrEqual(12.5);
      low = Math.min(low, t.firstTokenMs);
      high = Math.max(high, t.firstTokenMs);
    }
    // The whole range is used, not a fixed value.
    expect(low).toBeLessThan(310);
    expect(high).toBeGreaterThan(490);
    expect(drawTiming(seededRandom(1), { firstTokenMs: 400, perTokenMs: 10, jitter: 0 })).toEqual({
      firstTokenMs: 400,
      perTokenMs: 10,
    });
  });
});
