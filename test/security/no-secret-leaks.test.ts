/**
 * A recognisable fake API key and prompt text, sent through every path the library owns, never
 * come out of it: errors thrown by `execute` (400, 401, 429, 500, a broken stream, an open
 * circuit), every event payload, `inspect()` and the circuit's `lastFailure`, the OpenTelemetry
 * metrics (real SDK), and the shared circuit's keys and values in a real Redis. Real SDKs against
 * the simulator; plus a loopback provider whose 500 quotes the key, as some gateways do, to check
 * the scrubbing of what the library keeps (snapshot, Redis).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anthropicPolicy,
  instrument,
  isBrokenCircuitError,
  openaiPolicy,
  type ProviderPolicy,
  wrap,
} from '../../src/index.js';
import { type ScriptStep, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const ANTHROPIC_KEY = 'sk-ant-LEAKCHECK-api03-0123456789abcdefABCDEF';
const OPENAI_KEY = 'sk-proj-LEAKCHECK-0123456789abcdefABCDEF';
const PROMPT = 'PROMPTLEAK: the merger closes on Friday, tell nobody';
/** What must never appear: the keys, their distinctive middle, the prompt and a part of it. */
const SECRETS = [ANTHROPIC_KEY, OPENAI_KEY, 'LEAKCHECK', PROMPT, 'PROMPTLEAK', 'merger closes'];

/** Everything a value holds, as text: inspect (hidden fields, causes, getters) and JSON. */
function dump(value: unknown): string {
  const seen = inspect(value, {
    depth: 12,
    showHidden: true,
    getters: true,
    maxArrayLength: null,
    maxStringLength: null,
    breakLength: Number.POSITIVE_INFINITY,
  });
  let json = '';
  try {
    json = JSON.stringify(value) ?? '';
  } catch {
    // circular: inspect covered it
  }
  const error = value instanceof Error ? `${String(value)}\n${value.stack ?? ''}` : '';
  return `${seen}\n${json}\n${error}`;
}

function expectClean(what: string, value: unknown): void {
  const text = dump(value);
  for (const secret of SECRETS) {
    if (text.includes(secret)) {
      const at = text.indexOf(secret);
      throw new Error(`${what} holds "${secret}": …${text.slice(Math.max(0, at - 200), at + 80)}…`);
    }
  }
}

/** Subscribes to every event of the pipeline; returns what they carried. */
function captureEvents(policy: ProviderPolicy, events: unknown[] = []): unknown[] {
  const push = (name: string) => (payload: unknown) => events.push({ name, payload });
  policy.onSettle(push('settle'));
  policy.onThrottle(push('throttle'));
  policy.onHold(push('hold'));
  policy.onUnseen(push('unseen'));
  policy.onSuccess(push('success'));
  policy.onFailure(push('failure'));
  policy.onRetry(push('retry'));
  policy.onGiveUp(push('giveUp'));
  policy.onStateChange(push('stateChange'));
  return events;
}

function otel() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async metrics() {
      await reader.forceFlush();
      return exporter.getMetrics();
    },
  };
}

/** Every key under `prefix` with its value, whatever its type. */
async function redisContents(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 100 })) {
    for (const key of keys as string[]) {
      const type = await redis.type(key);
      out[key] =
        type === 'hash'
          ? await redis.hgetall(key)
          : type === 'string'
            ? await redis.get(key)
            : type === 'zset'
              ? await redis.zrange(key, '0', '-1')
              : type === 'list'
                ? await redis.lrange(key, 0, -1)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type;
    }
  }
  return out;
}

/** Runs `call` and returns what it threw (the test fails if it did not throw). */
async function thrown(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

/** One scripted failure per call; two in a row where the pipeline retries once. */
const FAILURES: readonly (readonly ScriptStep[])[] = [
  [{ kind: 'invalid_request' }],
  [{ kind: 'authentication' }],
  [
    { kind: 'rate_limit', retryAfterSeconds: 0 },
    { kind: 'rate_limit', retryAfterSeconds: 0 },
  ],
  [{ kind: 'server_error' }, { kind: 'server_error' }],
  [{ kind: 'insufficient_quota' }],
];

describe('no API key or prompt text leaves the library', () => {
  let sim: Simulator | undefined;
  afterAll(async () => {
    await sim?.close();
  });

  it('Anthropic: errors, events, inspect(), metrics and the shared circuit in Redis stay clean', async () => {
    sim = await startSimulator({
      provider: 'anthropic',
      outputTokens: { min: 20, max: 40 },
      faults: {
        script: [
          ...FAILURES.flat(),
          { kind: 'error_mid_stream' },
          { kind: 'reset_mid_stream' },
          { kind: 'error_at_stream_start' },
          { kind: 'close_at_stream_start' },
        ],
      },
    });
    const prefix = uniquePrefix('leak-anthropic');
    const policy = anthropicPolicy({
      limits: { rpm: 1000, itpm: 1_000_000, otpm: 1_000_000 },
      model: 'claude-sonnet-4-6',
      key: `${prefix}-budget`,
      tenant: 'acme',
      retry: { maxRetries: 1, baseDelayMs: 1 },
      circuit: { consecutiveFailures: 50, shared: { redis, key: `${prefix}:circuit` } },
    });
    const events = captureEvents(policy);
    const { meterProvider, metrics } = otel();
    const instrumentation = instrument(policy, { meterProvider, budget: 'prod' });
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: ANTHROPIC_KEY,
      fetch: policy.fetch,
      maxRetries: 0,
    });
    const params = {
      model: 'claude-sonnet-4-6',
      max_tokens: 64,
      system: `System: ${PROMPT}`,
      messages: [{ role: 'user' as const, content: PROMPT }],
    };

    const errors: unknown[] = [];
    for (const _ of FAILURES) {
      errors.push(await thrown(() => wrap(policy).execute(() => client.messages.create(params))));
    }
    expect(errors.map((e) => (e as { status?: number }).status)).toEqual([400, 401, 429, 500, 400]);
    // The quota refusal stopped the budget: the next call is refused at once, by the library.
    const stopped = await thrown(() => wrap(policy).execute(() => client.messages.create(params)));
    expect((stopped as Error).name).toBe('QuotaExhaustedError');
    errors.push(stopped);
    // Streams that break after their first event: the error reaches the consumer; then two that
    // fail before it: StreamStartError, from execute (a pipeline without retries, so each broken
    // stream is one request).
    // Its own budget: the quota refusal above stopped the first one's.
    const once = anthropicPolicy({
      limits: { rpm: 1000, itpm: 1_000_000, otpm: 1_000_000 },
      model: 'claude-sonnet-4-6',
      key: uniquePrefix('leak-anthropic-stream'),
      retry: false,
    });
    captureEvents(once, events);
    const onceClient = new Anthropic({
      baseURL: sim.url,
      apiKey: ANTHROPIC_KEY,
      fetch: once.fetch,
      maxRetries: 0,
    });
    for (let i = 0; i < 4; i++) {
      errors.push(
        await thrown(() =>
          wrap(once).execute(async () => {
            const client = onceClient;
            const stream = await client.messages.create({ ...params, stream: true });
            for await (const _event of stream) {
              // read to the break
            }
          }),
        ),
      );
    }
    expect(errors).toHaveLength(10);
    expect(errors.slice(8).map((e) => (e as Error).name)).toEqual([
      'StreamStartError',
      'StreamStartError',
    ]);
    for (const [i, e] of errors.entries()) expectClean(`error ${i}`, e);
    expect(events.length).toBeGreaterThan(15);
    for (const [i, e] of events.entries()) expectClean(`event ${i}`, e);
    const snapshot = await policy.inspect();
    expect(snapshot.circuit.lastFailure).toBeDefined();
    expectClean('inspect()', snapshot);
    expectClean('inspect() of the stream pipeline', await once.inspect());
    expectClean('metrics', await metrics());
    const stored = await redisContents(redis, prefix);
    expectClean('Redis', stored);
    instrumentation.dispose();
    policy.dispose();
    await meterProvider.shutdown();
  }, 60_000);

  it('OpenAI: errors, events, inspect() and metrics stay clean', async () => {
    await sim?.close();
    sim = await startSimulator({
      provider: 'openai',
      outputTokens: { min: 20, max: 40 },
      faults: { script: [...FAILURES.flat(), { kind: 'error_mid_stream' }] },
    });
    const policy = openaiPolicy({
      limits: { rpm: 1000, tpm: 1_000_000 },
      model: 'gpt-4o',
      key: uniquePrefix('leak-openai'),
      tenant: 'acme',
      retry: { maxRetries: 1, baseDelayMs: 1 },
      circuit: { consecutiveFailures: 50 },
    });
    const events = captureEvents(policy);
    const { meterProvider, metrics } = otel();
    const instrumentation = instrument(policy, { meterProvider });
    const client = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: OPENAI_KEY,
      fetch: policy.fetch,
      maxRetries: 0,
    });
    const params = {
      model: 'gpt-4o',
      max_completion_tokens: 64,
      messages: [
        { role: 'system' as const, content: PROMPT },
        { role: 'user' as const, content: PROMPT },
      ],
    };
    const errors: unknown[] = [];
    for (const _ of FAILURES) {
      errors.push(
        await thrown(() => wrap(policy).execute(() => client.chat.completions.create(params))),
      );
    }
    // Its own budget: the quota refusal above stopped the first one's.
    const once = openaiPolicy({
      limits: { rpm: 1000, tpm: 1_000_000 },
      key: uniquePrefix('leak-openai-stream'),
      retry: false,
    });
    const onceClient = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: OPENAI_KEY,
      fetch: once.fetch,
      maxRetries: 0,
    });
    errors.push(
      await thrown(() =>
        wrap(once).execute(async () => {
          const stream = await onceClient.chat.completions.create({ ...params, stream: true });
          for await (const _chunk of stream) {
            // read to the break
          }
        }),
      ),
    );
    expect(errors.map((e) => (e as { status?: number }).status).slice(0, 5)).toEqual([
      400, 401, 429, 500, 429,
    ]);
    for (const [i, e] of errors.entries()) expectClean(`error ${i}`, e);
    for (const [i, e] of events.entries()) expectClean(`event ${i}`, e);
    expectClean('inspect()', await policy.inspect());
    expectClean('metrics', await metrics());
    instrumentation.dispose();
    await meterProvider.shutdown();
  }, 60_000);

  describe('a provider whose 500 quotes the API key (some gateways do)', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const auth = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
          const key = String(req.headers['x-api-key'] ?? auth);
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              type: 'error',
              error: { type: 'api_error', message: `upstream refused key ${key}\nrequest dump` },
            }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('the circuit keeps the failure scrubbed, in inspect() and in Redis, and the open-circuit error is clean', async () => {
      const prefix = uniquePrefix('leak-echo');
      const policy = anthropicPolicy({
        limits: { rpm: 1000, itpm: 1_000_000, otpm: 1_000_000 },
        model: 'claude-sonnet-4-6',
        retry: false,
        circuit: {
          consecutiveFailures: 2,
          halfOpenAfterMs: 60_000,
          shared: { redis, key: `${prefix}:circuit` },
        },
      });
      const client = new Anthropic({
        baseURL: url,
        apiKey: ANTHROPIC_KEY,
        fetch: policy.fetch,
        maxRetries: 0,
      });
      const call = () =>
        wrap(policy).execute(() =>
          client.messages.create({
            model: 'claude-sonnet-4-6',
            max_tokens: 16,
            messages: [{ role: 'user', content: PROMPT }],
          }),
        );
      // The provider's own error reaches the caller as the SDK made it (with the key it quoted,
      // as without this library); what the library keeps and makes must not.
      const first = await thrown(call);
      expect(dump(first)).toContain(ANTHROPIC_KEY);
      await thrown(call);
      const open = await thrown(call);
      expect(isBrokenCircuitError(open)).toBe(true);
      expectClean('open-circuit error', open);
      const snapshot = await policy.inspect();
      expect(snapshot.circuit.state).toBe('open');
      expect(snapshot.circuit.lastFailure?.message).toBe('upstream refused key [redacted]');
      expectClean('inspect()', snapshot);
      const stored = await redisContents(redis, prefix);
      expect(Object.keys(stored)).toHaveLength(1);
      expect(JSON.stringify(stored)).toContain('[redacted]');
      expectClean('Redis', stored);
      policy.dispose();
    }, 30_000);
  });
});
