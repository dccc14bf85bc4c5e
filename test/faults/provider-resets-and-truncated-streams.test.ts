/**
 * The provider resetting connections (before any byte and mid-stream) and cutting streams with an
 * error event, at 45% of requests, under 24 concurrent callers of one pipeline on a Redis budget:
 * every call ends (answered or rejected, typed: a stream cut mid-body ends the caller's iteration
 * with StreamInterruptedError, not undici's `TypeError: terminated`), every request let through is settled exactly
 * once, and the budget holds nothing beyond the settled usage (its free capacity equals the limit
 * minus what the settles counted, plus the refill of the elapsed time).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { anthropicPolicy, wrap } from '../../src/index.js';
import type { SettleEvent } from '../../src/pipeline/budgeted-fetch.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { TYPED_REJECTIONS } from './fault-run.js';

const CALLERS = 24;
const CALLS_EACH = 10;
/** Ten minutes, so the refill during the run is small next to a permit left unsettled. */
const PERIOD_MS = 600_000;
const LIMITS = { rpm: 10_000, itpm: 1_000_000, otpm: 100_000 };

let sim: Simulator;
let redis: Redis;
beforeAll(async () => {
  sim = await startSimulator({
    provider: 'anthropic',
    latencyMs: { firstTokenMs: 20, perTokenMs: 2 },
    outputTokens: { min: 20, max: 120 },
    faults: {
      rates: { connection_reset: 0.15, reset_mid_stream: 0.15, error_mid_stream: 0.15 },
    },
  });
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await sim?.close();
  redis?.disconnect();
});

it('resets and truncated streams: every call ends, every request is settled once, nothing stays reserved', {
  timeout: 120_000,
}, async () => {
  const store = new RedisBudgetStore(redis, { prefix: uniquePrefix('faults-resets') });
  let sent = 0;
  let firstSentAt = Number.NaN;
  const policy = anthropicPolicy({
    limits: LIMITS,
    periodMs: PERIOD_MS,
    store,
    key: 'org',
    arrivalLagMs: 0,
    circuit: false,
    fetch: (input, init) => {
      if (sent === 0) firstSentAt = performance.now();
      sent++;
      return globalThis.fetch(input, init);
    },
  });
  const settles: SettleEvent[] = [];
  policy.onSettle((e) => settles.push(e));
  const client = new Anthropic({
    baseURL: sim.url,
    apiKey: 'test',
    maxRetries: 0,
    fetch: policy.fetch,
  });
  const outcomes: Record<string, number> = {};
  const call = async (stream: boolean) => {
    const params = {
      model: 'claude-sonnet-4-6',
      max_tokens: 256,
      messages: [{ role: 'user' as const, content: 'Tell me about connection resets.' }],
    };
    return wrap(policy).execute(async () => {
      if (!stream) return client.messages.create(params);
      const s = await client.messages.create({ ...params, stream: true });
      for await (const _ of s) {
        // to the end, or to the fault
      }
      return s;
    });
  };
  const stream = (c: number, i: number) => (c + i) % 2 === 0;
  let ended = 0;
  const all = Promise.all(
    Array.from({ length: CALLERS }, async (_, c) => {
      for (let i = 0; i < CALLS_EACH; i++) {
        let outcome = 'ok';
        try {
          await call(stream(c, i));
        } catch (error) {
          outcome = error instanceof Error ? error.constructor.name : `untyped ${typeof error}`;
          // An untyped TypeError (undici's, for a body cut mid-read) is named with its code.
          if (outcome === 'TypeError') {
            const code = ((error as Error).cause as { code?: string } | undefined)?.code;
            outcome = `TypeError ${(error as Error).message} ${code} (${stream(c, i) ? 'stream' : 'json'})`;
          }
        }
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        ended++;
      }
    }),
  );
  const finished = await Promise.race([
    all.then(() => true),
    // A hang is what this bounds: alone the calls end in about 8 s; a loaded machine (the whole
    // suite beside 8-process runs) took more than 25 s.
    new Promise<boolean>((r) => setTimeout(() => r(false), 90_000)),
  ]);
  // Stream helpers settle on their end event; give the last ones a turn.
  await new Promise((r) => setTimeout(r, 50));
  const lookFrom = performance.now();
  const snapshot = await policy.inspect();
  const lookTo = performance.now();
  const faults = sim.stats().faults;
  const dims = snapshot.limits.map((l) => {
    const i = settles[0]!.dimensions.indexOf(l.name as SettleEvent['dimensions'][number]);
    const counted = settles.reduce((a, s) => a + s.actual[i]!, 0);
    // The bucket started full; it refills from the first charge (a reservation made shortly
    // before the first request went out) until the look.
    const refill = (ms: number) => (l.limit * ms) / PERIOD_MS;
    const expected = l.limit - counted;
    return {
      name: l.name,
      available: l.available,
      low: Math.min(l.limit, Math.floor(expected + refill(lookFrom - firstSentAt)) - 2),
      high: Math.min(l.limit, Math.ceil(expected + refill(lookTo - firstSentAt + 100)) + 2),
      queued: l.queued,
    };
  });
  const unsettledUnits = Math.max(0, ...dims.map((d) => d.low - d.available));
  console.log(
    `[faults] provider resets + truncated streams (45% of requests), ${CALLERS} callers x ${CALLS_EACH}, Redis budget: ` +
      `calls ended ${ended}/${CALLERS * CALLS_EACH} ${JSON.stringify(outcomes)}, requests ${sent}, settles ${settles.length}, ` +
      `simulator faults ${JSON.stringify(faults)}, budget free vs limit - settled ` +
      `${dims.map((d) => `${d.name} ${d.available} in [${d.low}, ${d.high}]`).join(', ')}, ` +
      `bulkhead ${JSON.stringify(snapshot.bulkhead)}, units reserved beyond the settled ${unsettledUnits}`,
  );
  expect(finished).toBe(true);
  expect(ended).toBe(CALLERS * CALLS_EACH);
  // Typed: a stream whose socket closed mid-body reaches the caller's iteration as
  // StreamInterruptedError (it was undici's `TypeError: terminated`, with UND_ERR_SOCKET or,
  // on Node 26, ECONNRESET).
  for (const name of Object.keys(outcomes)) {
    if (name === 'ok') continue;
    expect([...TYPED_REJECTIONS, 'StreamInterruptedError'], name).toContain(name);
  }
  expect(settles.length).toBe(sent);
  for (const d of dims) {
    expect(d.queued).toBe(0);
    expect(d.available).toBeGreaterThanOrEqual(d.low);
    expect(d.available).toBeLessThanOrEqual(d.high);
  }
  expect(snapshot.bulkhead).toEqual({ executing: 0, queued: 0 });
  store.close();
});
