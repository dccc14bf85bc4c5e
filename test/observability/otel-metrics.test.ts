/**
 * instrument() reports a real pipeline's metrics through the real OpenTelemetry SDK: calls made
 * with the real Anthropic SDK against the simulator (a 429, a 500, successes, a stream), read
 * back from the SDK's in-memory exporter. The GenAI semconv figures equal the usage the SDK
 * returned; the resilience counters equal the pipeline's own events; every attribute is from the
 * low-cardinality set (no tenant, no key, no prompt).
 */
import Anthropic from '@anthropic-ai/sdk';
import type { Meter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import {
  anthropicPolicy,
  InvalidConfigError,
  instrument,
  type MeterLike,
  type MeterProviderLike,
  UnknownOptionError,
  wrap,
} from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';

const MODEL = 'claude-sonnet-4-6';
const KEY = 'sk-ant-LEAKCHECK-otel-0123456789';
const PROMPT = 'PROMPT-LEAKCHECK the quarterly numbers';
const TENANT = 'tenant-LEAKCHECK-42';

/** Attribute keys the instrumentation may use: nothing per tenant, per user or per prompt. */
const ALLOWED_KEYS = new Set([
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.request.model',
  'gen_ai.token.type',
  'error.type',
  'http.response.status_code',
  'llm_resilience.budget',
  'llm_resilience.model_class',
  'llm_resilience.dimension',
  'llm_resilience.retry.reason',
  'llm_resilience.retry.give_up_reason',
  'llm_resilience.circuit.state',
  'llm_resilience.limit_change.reason',
  'event.name',
  'event.severity',
]);

let sim: Simulator | undefined;
let provider: MeterProvider | undefined;
afterEach(async () => {
  await sim?.close();
  await provider?.shutdown();
  sim = undefined;
  provider = undefined;
});

function sdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when asked (forceFlush): the interval is far beyond the test.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  provider = new MeterProvider({ readers: [reader] });
  const collect = async (): Promise<MetricData[]> => {
    exporter.reset();
    await reader.forceFlush();
    return exporter
      .getMetrics()
      .flatMap((r) => r.scopeMetrics)
      .flatMap((s) => s.metrics);
  };
  return { provider, collect };
}

function metric(all: MetricData[], name: string): MetricData {
  const found = all.find((m) => m.descriptor.name === name);
  if (!found) throw new Error(`no metric ${name}; have ${all.map((m) => m.descriptor.name)}`);
  return found;
}

function points(all: MetricData[], name: string, where: Record<string, unknown> = {}) {
  return (metric(all, name).dataPoints as DataPoint<unknown>[]).filter((p) =>
    Object.entries(where).every(([k, v]) => p.attributes[k] === v),
  );
}

/** Sum of a counter's points matching `where`. */
function total(all: MetricData[], name: string, where: Record<string, unknown> = {}): number {
  return points(all, name, where).reduce((s, p) => s + (p.value as number), 0);
}

/** `total`, with 0 for a counter that never counted (the SDK exports no metric for it then). */
function totalOrNone(all: MetricData[], name: string): number {
  return all.some((m) => m.descriptor.name === name) ? total(all, name) : 0;
}

/** Count and sum of a histogram's points matching `where`. */
function histogram(all: MetricData[], name: string, where: Record<string, unknown> = {}) {
  return points(all, name, where).reduce(
    (acc, p) => {
      const h = p.value as Histogram;
      return { count: acc.count + h.count, sum: acc.sum + (h.sum ?? 0) };
    },
    { count: 0, sum: 0 },
  );
}

function client(policy: ReturnType<typeof anthropicPolicy>, url: string): Anthropic {
  return new Anthropic({ baseURL: url, apiKey: KEY, fetch: policy.fetch, maxRetries: 0 });
}

const request = (maxTokens = 32) => ({
  model: MODEL,
  max_tokens: maxTokens,
  messages: [{ role: 'user' as const, content: PROMPT }],
});

describe('instrument() with the OpenTelemetry SDK', () => {
  it('reports GenAI token usage and durations, 429s and 5xx, retries, holds and budget units as the pipeline saw them', async () => {
    sim = await startSimulator({
      provider: 'anthropic',
      outputTokens: { min: 5, max: 20 },
      faults: { script: [{ kind: 'rate_limit', retryAfterSeconds: 1 }, { kind: 'server_error' }] },
    });
    const { provider: meterProvider, collect } = sdk();
    const policy = anthropicPolicy({
      limits: { rpm: 1000, itpm: 1_000_000, otpm: 1_000_000 },
      model: MODEL,
      key: 'prod',
      tenant: TENANT,
      retry: { maxRetries: 3, baseDelayMs: 1 },
    });
    let inspected = 0;
    const inspect = policy.inspect.bind(policy);
    policy.inspect = () => {
      inspected++;
      return inspect();
    };
    const metrics = instrument(policy, { meterProvider, budget: 'prod' });
    const seen = {
      retries: 0,
      holds: 0,
      throttles: 0,
      itpm: 0,
      itpmOk: 0,
      attempts: [] as string[],
      modelClass: '',
    };
    policy.onSettle((e) => {
      seen.attempts.push(e.outcome);
      seen.modelClass = e.modelClass;
      const itpm = e.actual[e.dimensions.indexOf('itpm')] ?? 0;
      seen.itpm += itpm;
      if (e.usage) seen.itpmOk += itpm;
    });
    policy.onRetry(() => seen.retries++);
    policy.onHold(() => seen.holds++);
    policy.onThrottle(() => seen.throttles++);

    const anthropic = client(policy, sim.url);
    let input = 0;
    let output = 0;
    // The first call meets the scripted 429 and 500, then succeeds on its third attempt.
    for (let i = 0; i < 3; i++) {
      const message = await wrap(policy).execute(() => anthropic.messages.create(request()));
      input +=
        message.usage.input_tokens +
        (message.usage.cache_creation_input_tokens ?? 0) +
        (message.usage.cache_read_input_tokens ?? 0);
      output += message.usage.output_tokens;
    }
    const streamed = await wrap(policy).execute(async () => {
      const stream = anthropic.messages.stream(request(24));
      return stream.finalMessage();
    });
    input += streamed.usage.input_tokens;
    output += streamed.usage.output_tokens;

    const all = await collect();
    expect(seen.attempts).toEqual(['429', '500', 'ok', 'ok', 'ok', 'complete']);

    // GenAI semantic conventions: one duration per attempt, errors by status.
    const genai = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': MODEL,
    };
    expect(histogram(all, 'gen_ai.client.operation.duration', genai).count).toBe(6);
    expect(histogram(all, 'gen_ai.client.operation.duration', { 'error.type': '429' }).count).toBe(
      1,
    );
    expect(histogram(all, 'gen_ai.client.operation.duration', { 'error.type': '500' }).count).toBe(
      1,
    );
    expect(metric(all, 'gen_ai.client.operation.duration').descriptor.unit).toBe('s');
    const inputUsage = histogram(all, 'gen_ai.client.token.usage', {
      ...genai,
      'gen_ai.token.type': 'input',
    });
    const outputUsage = histogram(all, 'gen_ai.client.token.usage', {
      ...genai,
      'gen_ai.token.type': 'output',
    });
    expect(inputUsage).toEqual({ count: 4, sum: input });
    expect(outputUsage).toEqual({ count: 4, sum: output });
    expect(metric(all, 'gen_ai.client.token.usage').descriptor.unit).toBe('{token}');

    // Resilience: the counters are the pipeline's events.
    expect(total(all, 'llm_resilience.provider.errors', { 'error.type': '429' })).toBe(1);
    expect(
      total(all, 'llm_resilience.provider.errors', {
        'error.type': '500',
        'http.response.status_code': 500,
      }),
    ).toBe(1);
    expect(total(all, 'llm_resilience.retry.attempts')).toBe(seen.retries);
    expect(
      total(all, 'llm_resilience.retry.attempts', { 'llm_resilience.retry.reason': 'rate-limit' }),
    ).toBe(1);
    expect(
      total(all, 'llm_resilience.retry.attempts', { 'llm_resilience.retry.reason': 'server' }),
    ).toBe(1);
    expect(seen.holds).toBeGreaterThan(0);
    expect(total(all, 'llm_resilience.limiter.held')).toBe(seen.holds);
    // Whether a call waited here depends on the timing of the retries; the count must agree.
    expect(totalOrNone(all, 'llm_resilience.limiter.throttled')).toBe(seen.throttles);
    expect(total(all, 'llm_resilience.events', { 'event.name': 'OnRetry' })).toBe(2);
    expect(total(all, 'llm_resilience.events', { 'event.name': 'OnHold' })).toBe(seen.holds);
    // Every attempt that got budget recorded its wait (most waited 0 ms).
    expect(
      histogram(all, 'llm_resilience.limiter.wait.duration', {
        'llm_resilience.budget': 'prod',
        'llm_resilience.model_class': seen.modelClass,
      }).count,
    ).toBe(6);
    // Budget units: one request per attempt; settled input tokens are the usage reported (no
    // cache here, so what ITPM counts is every prompt token).
    const rpm = { 'llm_resilience.dimension': 'rpm' };
    expect(total(all, 'llm_resilience.budget.reserved', rpm)).toBe(6);
    expect(total(all, 'llm_resilience.budget.settled', rpm)).toBe(6);
    // ITPM: the successes settle on their usage, the 429 on nothing, the 500 on its estimate.
    expect(
      total(all, 'llm_resilience.budget.settled', { 'llm_resilience.dimension': 'itpm' }),
    ).toBe(seen.itpm);
    expect(seen.itpmOk).toBe(input);
    expect(
      total(all, 'llm_resilience.budget.settled', { 'llm_resilience.dimension': 'otpm' }),
    ).toBe(output);
    expect(
      total(all, 'llm_resilience.budget.reserved', { 'llm_resilience.dimension': 'otpm' }),
    ).toBeGreaterThanOrEqual(output);

    // Gauges, read from inspect() at collection: circuit closed, bulkhead idle, budget left.
    expect(
      total(all, 'llm_resilience.circuit.state', { 'llm_resilience.circuit.state': 'closed' }),
    ).toBe(1);
    expect(
      total(all, 'llm_resilience.circuit.state', { 'llm_resilience.circuit.state': 'open' }),
    ).toBe(0);
    expect(total(all, 'llm_resilience.bulkhead.executing')).toBe(0);
    expect(total(all, 'llm_resilience.bulkhead.queued')).toBe(0);
    const available = points(all, 'llm_resilience.budget.available');
    expect(available.map((p) => p.attributes['llm_resilience.dimension']).sort()).toEqual([
      'itpm',
      'otpm',
      'rpm',
    ]);

    // Low cardinality, nothing secret: every attribute key is from the allowed set, and no value
    // holds the tenant, the key or the prompt.
    for (const m of all) {
      for (const p of m.dataPoints as DataPoint<unknown>[]) {
        for (const k of Object.keys(p.attributes)) expect(ALLOWED_KEYS).toContain(k);
      }
    }
    const text = JSON.stringify(all);
    for (const secret of [KEY, 'LEAKCHECK', TENANT, PROMPT]) expect(text).not.toContain(secret);

    // dispose(): no more measurements.
    metrics.dispose();
    const inspections = { before: inspected, after: 0 };
    await wrap(policy).execute(() => anthropic.messages.create(request()));
    const after = await collect();
    inspections.after = inspected;
    expect(histogram(after, 'gen_ai.client.operation.duration').count).toBe(6);
    // The gauges' callback is gone: collecting no longer reads inspect().
    expect(inspections.after).toBe(inspections.before);
  }, 30_000);

  it('reports the circuit opening, give-ups by reason and the open state on the gauge', async () => {
    sim = await startSimulator({
      provider: 'anthropic',
      faults: { script: [{ kind: 'server_error' }, { kind: 'server_error' }] },
    });
    const { provider: meterProvider, collect } = sdk();
    const policy = anthropicPolicy({
      limits: { rpm: 1000, itpm: 1_000_000, otpm: 1_000_000 },
      model: MODEL,
      retry: { maxRetries: 1, baseDelayMs: 1 },
      circuit: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
    });
    // A Meter of the real API, passed as is.
    const meter: Meter = meterProvider.getMeter('app');
    const metrics = instrument(policy, { meter });
    const anthropic = client(policy, sim.url);
    await expect(
      wrap(policy).execute(() => anthropic.messages.create(request())),
    ).rejects.toMatchObject({ status: 500 });
    const all = await collect();
    expect(
      total(all, 'llm_resilience.retry.give_ups', {
        'llm_resilience.retry.give_up_reason': 'max-retries',
        'llm_resilience.retry.reason': 'server',
      }),
    ).toBe(1);
    expect(total(all, 'llm_resilience.events', { 'event.name': 'OnCircuitOpened' })).toBe(1);
    expect(
      total(all, 'llm_resilience.events', { 'event.name': 'OnGiveUp', 'event.severity': 'Error' }),
    ).toBe(1);
    expect(
      total(all, 'llm_resilience.circuit.state', { 'llm_resilience.circuit.state': 'open' }),
    ).toBe(1);
    expect(
      total(all, 'llm_resilience.circuit.state', { 'llm_resilience.circuit.state': 'closed' }),
    ).toBe(0);
    metrics.dispose();
    policy.dispose();
  }, 30_000);

  it('counts a request that waited for budget as throttled, with its wait in the histogram', async () => {
    sim = await startSimulator({ provider: 'anthropic', outputTokens: 4 });
    const { provider: meterProvider, collect } = sdk();
    // One request per 300 ms: the second of two back-to-back calls waits for its slot.
    const policy = anthropicPolicy({
      limits: { rpm: 1, itpm: 1_000_000, otpm: 1_000_000 },
      periodMs: 300,
      model: MODEL,
    });
    const waits: number[] = [];
    policy.onThrottle((e) => waits.push(e.waitedMs));
    instrument(policy, { meterProvider });
    const anthropic = client(policy, sim.url);
    await wrap(policy).execute(() => anthropic.messages.create(request(8)));
    await wrap(policy).execute(() => anthropic.messages.create(request(8)));
    const all = await collect();
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(total(all, 'llm_resilience.limiter.throttled')).toBe(waits.length);
    expect(total(all, 'llm_resilience.events', { 'event.name': 'OnThrottle' })).toBe(waits.length);
    // Every attempt's wait, in seconds (calls that did not wait add 0).
    const wait = histogram(all, 'llm_resilience.limiter.wait.duration');
    expect(wait.count).toBe(2);
    // Each figure is rounded to the ms on its own: within a few ms of each other.
    expect(Math.abs(wait.sum - waits.reduce((a, b) => a + b, 0) / 1000)).toBeLessThan(0.005);
    expect(wait.sum).toBeGreaterThan(0.2);
  }, 30_000);

  it('counts limits lowered from the provider headers, and the gauge shows the limit in force', async () => {
    // The provider reports 50 RPM; the pipeline was told 1000.
    sim = await startSimulator({
      provider: 'anthropic',
      limits: { rpm: 50, itpm: 1_000_000, otpm: 1_000_000 },
      outputTokens: 4,
    });
    const { provider: meterProvider, collect } = sdk();
    const policy = anthropicPolicy({
      limits: { rpm: 1000, itpm: 1_000_000, otpm: 1_000_000 },
      model: MODEL,
    });
    const changes: { dimension: string; to: number }[] = [];
    policy.onLimitChange((e) => changes.push({ dimension: e.dimension, to: e.to }));
    instrument(policy, { meterProvider });
    const anthropic = client(policy, sim.url);
    await wrap(policy).execute(() => anthropic.messages.create(request(8)));
    const all = await collect();
    expect(changes).toContainEqual({ dimension: 'rpm', to: 50 });
    expect(total(all, 'llm_resilience.budget.limit_changes')).toBe(changes.length);
    expect(
      total(all, 'llm_resilience.budget.limit_changes', {
        'llm_resilience.dimension': 'rpm',
        'llm_resilience.limit_change.reason': 'provider-limit',
      }),
    ).toBe(1);
    expect(total(all, 'llm_resilience.budget.limit', { 'llm_resilience.dimension': 'rpm' })).toBe(
      50,
    );
  }, 30_000);

  it('refuses options that cannot work, with typed errors', () => {
    const policy = anthropicPolicy({ limits: { rpm: 10, itpm: 1000, otpm: 1000 } });
    const { provider: meterProvider } = sdk();
    const meter = meterProvider.getMeter('x') as MeterLike;
    expect(() => instrument(policy, {})).toThrow(/meterProvider/);
    expect(() => instrument(policy, undefined as never)).toThrow(InvalidConfigError);
    expect(() => instrument(policy, { meter, meterProvider })).toThrow(/not both/);
    expect(() => instrument(policy, { meterProvider: {} as MeterProviderLike })).toThrow(
      InvalidConfigError,
    );
    expect(() => instrument(policy, { meter, budget: '' })).toThrow(/budget/);
    expect(() => instrument(policy, { meter, tenant: 'acme' } as never)).toThrow(
      UnknownOptionError,
    );
  });
});
