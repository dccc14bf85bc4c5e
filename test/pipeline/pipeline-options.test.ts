/**
 * anthropicPolicy / openaiPolicy refuse what cannot work when they are made, with typed errors
 * naming the option; a model of an unknown class is refused naming the known classes; the
 * snapshot is JSON and holds no API key or prompt text.
 */
import Anthropic from '@anthropic-ai/sdk';
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
