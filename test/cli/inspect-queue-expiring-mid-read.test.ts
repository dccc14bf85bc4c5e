/**
 * A budget's queue key expires when its bucket is full again; the limits record beside it lives
 * longer. `inspect` must show the dimension either way, also when the queue key expires between
 * the SCAN that found it and the read that follows (a race a slow machine hit: a budget showed
 * two of its three dimensions).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRedis } from '../../src/cli/inspect-redis.js';
import { anthropicPolicy } from '../../src/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { deleteKeysWith, keysMatching, redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
const key = uniquePrefix('inspect-expiring');
const id = key.slice(key.lastIndexOf(':') + 1);

beforeAll(async () => {
  redis = new Redis(await redisUrl());
  const sim = await startSimulator({
    provider: 'anthropic',
    outputTokens: 20,
    limits: { rpm: 6, itpm: 100_000, otpm: 100_000 },
  });
  const policy = anthropicPolicy({
    limits: { rpm: 6, itpm: 100_000, otpm: 100_000 },
    redis: new Redis(await redisUrl()),
    key,
  });
  try {
    const client = new Anthropic({
      fetch: policy.fetch,
      maxRetries: 0,
      baseURL: sim.url,
      apiKey: 'k',
    });
    await policy.execute(() =>
      client.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hello' }],
      }),
    );
  } finally {
    policy.dispose();
    await sim.close();
  }
});

afterAll(async () => {
  await deleteKeysWith(redis, id);
  redis.disconnect();
});

describe('inspect, while a budget queue expires', () => {
  it('shows every dimension, full, when the queue keys expire between SCAN and the read', async () => {
    const queues = () => keysMatching(redis, `*:q:*${id}*`);
    // The rpm queue (one request of 6 a minute) lives 10 s; it must be there to race with.
    expect((await queues()).length).toBeGreaterThanOrEqual(1);
    // A Redis whose SCAN returns the keys, then lets this budget's queues expire (deleted here).
    const expiring = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop !== 'scan') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<Redis['scan']>) => {
          const answer = await target.scan(...args);
          const gone = answer[1].filter((k) => k.includes(':q:') && k.includes(id));
          if (gone.length > 0) await target.del(...gone);
          return answer;
        };
      },
    });
    const snapshot = await inspectRedis(expiring, { key });
    expect(await queues()).toEqual([]);
    const byDimension = Object.fromEntries(snapshot.budgets.map((b) => [b.dimension, b]));
    expect(Object.keys(byDimension).sort()).toEqual(['itpm', 'otpm', 'rpm']);
    expect(byDimension.rpm).toMatchObject({ limit: 6, available: 6, queued: 0, heldForMs: 0 });
    expect(byDimension.itpm).toMatchObject({ limit: 100_000, available: 100_000 });
    expect(snapshot.unreadable).toEqual([]);
  });
});
