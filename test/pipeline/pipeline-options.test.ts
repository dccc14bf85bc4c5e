/**
 * anthropicPolicy / openaiPolicy refuse what cannot work when they are made, with typed errors
 * naming the option; a model of an unknown class is refused naming the known classes; the
 * snapshot is JSON and holds no API key or prompt text.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  anthropicPolicy,
  InvalidConfigError,
  MemoryBudgetStore,
  openaiPolicy,
  UnknownOptionError,
  wrap,
} from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('provider pipeline options', () => {
  it('refuse unknown keys, naming the nearest known option', () => {
    expect(() =>
      anthropicPolicy({ tier: 'build', model: 'claude-sonnet-4-6', retries: 2 } as never),
    ).toThrow(UnknownOptionError);
    expect(() =>
      anthropicPolicy({ tier: 'build', model: 'claude-sonnet-4-6', retries: 2 } as never),
    ).toThrow(/retry/);
  });

  it('refuse utilization outside (0, 1], an attempt timeout above the total, no limits at all', () => {
    const base = { limits: { rpm: 10, itpm: 1000, otpm: 1000 } };
    expect(() => anthropicPolicy({ ...base, utilization: 0 })).toThrow(/utilization/);
    expect(() => anthropicPolicy({ ...base, utilization: 1.5 })).toThrow(InvalidConfigError);
    expect(() => anthropicPolicy({ ...base, timeout: { attemptMs: 5000, totalMs: 1000 } })).toThrow(
      /attemptMs/,
    );
    expect(() => anthropicPolicy({})).toThrow(/tier/);
    // OpenAI meters tokens as TPM: limits without it cannot make a budget.
    expect(() => openaiPolicy({ limits: { rpm: 10 } })).toThrow(/limits\.tpm/);
  });

  it('refuse a tier that does not exist and a model of no known class, naming what exists', () => {
    expect(() => anthropicPolicy({ tier: 'gold', model: 'claude-sonnet-4-6' })).toThrow(
      InvalidConfigError,
    );
    expect(() => anthropicPolicy({ tier: 'build', model: 'claude-unknown-9' })).toThrow(
      /sonnet-4\.x/,
    );
  });

  it('refuse a tier the provider does not have, with or without a model, naming its tiers', () => {
    const refusals = [
      () => anthropicPolicy({ tier: 'gold' }),
      () => anthropicPolicy({ tier: 'gold', limits: { rpm: 10, itpm: 1000, otpm: 1000 } }),
      () => openaiPolicy({ tier: 'tier-9' }),
      () => openaiPolicy({ tier: 'tier-9', model: 'gpt-4.1' }),
      // A tier of another provider is not this one's.
      () => openaiPolicy({ tier: 'scale' }),
    ];
    for (const make of refusals) {
      expect(make).toThrow(InvalidConfigError);
      expect(make).toThrow(/`tier`/);
    }
    expect(() => anthropicPolicy({ tier: 'gold' })).toThrow(/start \| build \| scale/);
    expect(() => openaiPolicy({ tier: 'tier-9' })).toThrow(/tier-1 \| tier-2 \| tier-3/);
    expect(() => anthropicPolicy({ tier: 'build' })).not.toThrow();
  });

  it('with limits naming every dimension, a model the tier has no row for is charged to them', async () => {
    const limits = { rpm: 10, itpm: 1000, otpm: 1000 };
    const policy = anthropicPolicy({ tier: 'build', model: 'claude-foo-9', limits });
    const snapshot = await policy.inspect();
    expect(snapshot.preset).toBeUndefined();
    expect(snapshot.limits.map((l) => [l.modelClass, l.name, l.limit])).toEqual([
      ['limits', 'rpm', 10],
      ['limits', 'itpm', 1000],
      ['limits', 'otpm', 1000],
    ]);
    // Limits that leave a dimension to the preset cannot stand in for a missing row.
    expect(() =>
      anthropicPolicy({ tier: 'build', model: 'claude-foo-9', limits: { rpm: 10 } }),
    ).toThrow(/sonnet-4\.x/);
  });

  it('with limits beside a tier, a request for a model of no known class is sent and charged to them', async () => {
    sim = await startSimulator({ provider: 'anthropic' });
    const limits = { rpm: 10, itpm: 100_000, otpm: 100_000 };
    const policy = anthropicPolicy({ tier: 'build', limits, key: 'unlisted', arrivalLagMs: 0 });
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      fetch: policy.fetch,
      maxRetries: 0,
    });
    const message = await wrap(policy).execute(() =>
      client.messages.create({
        model: 'claude-foo-9',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    );
    expect(message.role).toBe('assistant');
    expect(sim.stats().requests).toBe(1);
    const rpm = (await policy.inspect()).limits.find((l) => l.name === 'rpm')!;
    expect([rpm.modelClass, rpm.available]).toEqual(['limits', 9]);
  });

  it('refuse retries that cannot fit in the total timeout, naming both options and their values', () => {
    const base = { limits: { rpm: 10, itpm: 1000, otpm: 1000 } };
    const refusals = [
      {
        options: { retry: { maxRetries: 10 }, timeout: { attemptMs: 1000, totalMs: 1000 } },
        option: 'retry.maxRetries',
        message: /timeout\.attemptMs \(1000 ms\).*timeout\.totalMs \(1000 ms\).*received 10$/,
      },
      {
        options: { retry: { baseDelayMs: 10_000 }, timeout: 1000 },
        option: 'retry.baseDelayMs',
        message: /timeout\.totalMs \(1000 ms\).*received 10000$/,
      },
      {
        options: { retry: { maxRetryAfterMs: 1000 }, timeout: { totalMs: 1000 } },
        option: 'retry.maxRetryAfterMs',
        message: /timeout\.totalMs \(1000 ms\).*received 1000$/,
      },
    ];
    for (const { options, option, message } of refusals) {
      let caught: unknown;
      try {
        anthropicPolicy({ ...base, ...options });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidConfigError);
      expect((caught as InvalidConfigError).option).toBe(option);
      expect((caught as Error).message).toMatch(message);
    }
    // What the user did not give is bounded instead, and retries that are off need no room.
    expect(() => anthropicPolicy({ ...base, timeout: 300 })).not.toThrow();
    expect(() =>
      anthropicPolicy({ ...base, timeout: { attemptMs: 1000, totalMs: 1000 } }),
    ).not.toThrow();
    expect(() =>
      anthropicPolicy({ ...base, retry: { maxRetries: 0, baseDelayMs: 10_000 }, timeout: 1000 }),
    ).not.toThrow();
  });

  it('with a total timeout, a retry-after as long as the total is passed on at once, not waited out', async () => {
    sim = await startSimulator({ provider: 'anthropic' });
    sim.script({ kind: 'rate_limit', retryAfterSeconds: 1 }, { kind: 'ok' });
    const policy = anthropicPolicy({
      limits: { rpm: 10, itpm: 100_000, otpm: 100_000 },
      key: 'retry-after-fits',
      timeout: 1000,
    });
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      fetch: policy.fetch,
      maxRetries: 0,
    });
    const started = performance.now();
    await expect(
      wrap(policy).execute(() =>
        client.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'Hi' }],
        }),
      ),
    ).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    expect(performance.now() - started).toBeLessThan(900);
    expect(sim.stats().requests).toBe(1);
  });

  it('with a total timeout shorter than the default backoff, the backoff shrinks so a retry fits', async () => {
    sim = await startSimulator({ provider: 'anthropic' });
    // A first call warms the connection up, so the retried call's time is the backoff's.
    sim.script({ kind: 'ok' }, { kind: 'overloaded' }, { kind: 'ok' });
    const policy = anthropicPolicy({
      limits: { rpm: 1000, itpm: 100_000, otpm: 100_000 },
      key: 'backoff-shrinks',
      arrivalLagMs: 0,
      timeout: 490,
      // A long draw of the full jitter: 0.99 of the default 500 ms envelope outlasts the call.
      retry: { random: () => 0.99 },
    });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      fetch: policy.fetch,
      maxRetries: 0,
    });
    const call = () =>
      wrap(policy).execute(() =>
        client.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'Hi' }],
        }),
      );
    await call();
    // The retry fits when its request is sent inside the total (with the default backoff it is
    // not: the total ends first). Whether its answer also comes back in the ~240 ms left is the
    // machine's speed, not the rule: not asserted, so a busy machine cannot fail the test.
    await call().catch(() => undefined);
    expect(delays).toEqual([243]); // 0.99 of half the total
    expect(sim.stats().requests).toBe(3);
  });

  it('inspect() is JSON with the preset, the circuit and every dimension, and no secret', async () => {
    sim = await startSimulator({ provider: 'anthropic' });
    const policy = anthropicPolicy({
      tier: 'build',
      model: 'claude-sonnet-4-6',
      store: new MemoryBudgetStore(),
    });
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'sk-ant-api03-SECRETSECRETSECRET',
      fetch: policy.fetch,
      maxRetries: 0,
    });
    await wrap(policy).execute(() =>
      client.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'my private prompt text' }],
      }),
    );
    const snapshot = await policy.inspect();
    const json = JSON.stringify(snapshot);
    expect(JSON.parse(json)).toEqual(snapshot);
    expect(snapshot.preset).toMatchObject({
      provider: 'anthropic',
      tier: 'build',
      modelClass: 'sonnet-4.x',
    });
    expect(snapshot.circuit.state).toBe('closed');
    expect(snapshot.limits.map((l) => l.name)).toEqual(['rpm', 'itpm', 'otpm']);
    expect(snapshot.limits[0]!.limit).toBe(5000);
    expect(json).not.toMatch(/SECRET|private prompt/);
  });
});

describe('a pipeline given redis', () => {
  it('refuses what is not a Redis client, naming the option', () => {
    expect(() =>
      anthropicPolicy({ tier: 'build', model: 'claude-sonnet-4-6', redis: {} as never }),
    ).toThrow(InvalidConfigError);
    expect(() =>
      anthropicPolicy({
        tier: 'build',
        model: 'claude-sonnet-4-6',
        redis: {} as never,
        store: new MemoryBudgetStore(),
      }),
    ).not.toThrow();
  });

  it('shares one budget with every pipeline on the same key, whatever its connection', async () => {
    const url = await redisUrl();
    const [r1, r2] = [new Redis(url), new Redis(url)];
    try {
      const key = uniquePrefix('pipe');
      const limits = { rpm: 10, itpm: 100_000, otpm: 100_000 };
      // No arrival lag: the request is charged exactly one unit of rpm.
      const arrivalLagMs = 0;
      const one = anthropicPolicy({ limits, redis: r1, key, arrivalLagMs });
      const two = anthropicPolicy({ limits, redis: r2, key, arrivalLagMs });
      const other = anthropicPolicy({ limits, redis: r2, key: `${key}-other`, arrivalLagMs });
      const budget = (await one.inspect()).limits;
      expect(budget.find((l) => l.name === 'rpm')!.available).toBe(10);
      // A request sent through `one` is charged to the budget `two` sees, not another key's.
      sim = await startSimulator({ provider: 'anthropic' });
      const client = new Anthropic({
        baseURL: sim.url,
        apiKey: 'test',
        maxRetries: 0,
        fetch: one.fetch,
      });
      await wrap(one).execute(() =>
        client.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'Hello' }],
        }),
      );
      expect((await two.inspect()).limits.find((l) => l.name === 'rpm')!.available).toBe(9);
      expect((await other.inspect()).limits.find((l) => l.name === 'rpm')!.available).toBe(10);
      // openaiPolicy takes redis the same way.
      const gpt = openaiPolicy({ limits: { rpm: 10, tpm: 10_000 }, redis: r1, key });
      expect((await gpt.inspect()).limits.map((l) => [l.name, l.available])).toEqual([
        ['rpm', 10],
        ['tpm', 10_000],
      ]);
    } finally {
      r1.disconnect();
      r2.disconnect();
    }
  });
});
