/**
 * The demand recorder rolls calls up per window into per-minute p50/p95 rates and cache share:
 * exact figures on a manual clock, nearest-rank percentiles checked against a sort (property),
 * windows bounded, bad input refused typed, the JSON read back by parseDemandReport, and a real
 * pipeline's calls (the Anthropic SDK against the simulator, with prompt caching) recorded as the
 * SDK reported them.
 */
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  anthropicPolicy,
  DemandRecorder,
  demandRecorder,
  InvalidArgumentError,
  InvalidConfigError,
  parseDemandReport,
  UnknownOptionError,
  wrap,
} from '../../src/index.js';
import { nearestRank } from '../../src/observability/demand-report.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/testing/index.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const START = 1_699_999_980_000; // a whole minute

describe('demand recorder', () => {
  it('rolls calls into per-minute windows, empty minutes included, with p50/p95 over complete minutes', async () => {
    const clock = new ManualClock(START);
    const recorder = demandRecorder({ clock, provider: 'anthropic' });
    // Minute 0: 3 calls; minute 1: none; minute 2: 1 call; minute 3 (current): 5 calls.
    for (let i = 0; i < 3; i++)
      recorder.record({ inputTokens: 1000, outputTokens: 100, cachedInputTokens: 400 });
    await clock.advance(120_000);
    recorder.record({ inputTokens: 2000, outputTokens: 300 });
    await clock.advance(60_000);
    for (let i = 0; i < 5; i++) recorder.record({ inputTokens: 10, outputTokens: 1 });

    const report = recorder.report();
    expect(report.windows.map((w) => [w.start - START, w.requests])).toEqual([
      [0, 3],
      [60_000, 0],
      [120_000, 1],
      [180_000, 5],
    ]);
    expect(report.windows[0]).toEqual({
      start: START,
      requests: 3,
      inputTokens: 3000,
      outputTokens: 300,
      cachedInputTokens: 1200,
    });
    // Percentiles over the three complete minutes, each rate on its own: rpm {3, 0, 1}, itpm
    // {1800, 0, 2000}, otpm {300, 0, 300}, tpm {3300, 0, 2300}, cache share {0.4, 0, 0}.
    expect(report.windowsMeasured).toBe(3);
    expect(report.p50).toEqual({
      rpm: 1,
      inputTpm: 2000,
      itpm: 1800,
      otpm: 300,
      tpm: 2300,
      cacheShare: 0,
    });
    expect(report.p95).toEqual({
      rpm: 3,
      inputTpm: 3000,
      itpm: 2000,
      otpm: 300,
      tpm: 3300,
      cacheShare: 0.4,
    });
    expect(report.cacheShare).toBeCloseTo(1200 / 5000, 12);
    expect(report.provider).toBe('anthropic');
    expect(report.version).toBe(1);
    // JSON round trip through the reader `plan --demand` uses.
    expect(parseDemandReport(JSON.stringify(recorder))).toEqual(report);
  });

  it('scales a compressed window to per-minute rates, and measures the only window when none is complete', async () => {
    const clock = new ManualClock(START);
    const recorder = new DemandRecorder({ clock, windowMs: 1000 });
    recorder.record({ inputTokens: 50, outputTokens: 5 });
    recorder.record({ inputTokens: 50, outputTokens: 5 });
    const report = recorder.report();
    expect(report.windowsMeasured).toBe(1);
    expect(report.p50.rpm).toBe(120);
    expect(report.p95.itpm).toBe(6000);
    expect(report.p95.otpm).toBe(600);
  });

  it('keeps at most maxWindows windows', async () => {
    const clock = new ManualClock(START);
    const recorder = demandRecorder({ clock, windowMs: 1000, maxWindows: 5 });
    for (let i = 0; i < 20; i++) {
      recorder.record({ inputTokens: i, outputTokens: 1 });
      await clock.advance(1000);
    }
    const report = recorder.report();
    expect(report.windows).toHaveLength(5);
    expect(report.windows.map((w) => w.inputTokens)).toEqual([16, 17, 18, 19, 0]);
  });

  it('nearest-rank percentiles are the ceil(p*n)-th smallest value (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 1_000_000 }), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(0.5, 0.95, 0.99, 1),
        (values, p) => {
          const sorted = [...values].sort((a, b) => a - b);
          const got = nearestRank(values, p);
          expect(got).toBe(sorted[Math.ceil(p * values.length) - 1]);
          // At least p of the values are at or below it; fewer than p strictly below.
          expect(values.filter((v) => v <= got).length).toBeGreaterThanOrEqual(p * values.length);
          expect(values.filter((v) => v < got).length).toBeLessThan(p * values.length);
        },
      ),
    );
    expect(nearestRank([], 0.5)).toBe(0);
  });

  it('refuses bad options, samples and files with typed errors', () => {
    expect(() => demandRecorder({ windowMs: 0 })).toThrow(InvalidConfigError);
    expect(() => demandRecorder({ windowMs: Number.NaN })).toThrow(/windowMs/);
    expect(() => demandRecorder({ maxWindows: 1.5 })).toThrow(/maxWindows/);
    expect(() => demandRecorder({ window: 60_000 } as never)).toThrow(UnknownOptionError);
    const recorder = demandRecorder();
    expect(() => recorder.record({ inputTokens: -1, outputTokens: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => recorder.record({ inputTokens: 1, outputTokens: Number.NaN })).toThrow(
      /outputTokens/,
    );
    expect(() =>
      recorder.record({ inputTokens: 10, outputTokens: 0, cachedInputTokens: 11 }),
    ).toThrow(/cachedInputTokens/);
    expect(() => recorder.record(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => parseDemandReport('not json')).toThrow(InvalidArgumentError);
    expect(() => parseDemandReport('{"version":2}')).toThrow(/version/);
    const good = JSON.parse(JSON.stringify(recorder.report()));
    expect(() => parseDemandReport(JSON.stringify({ ...good, windowMs: 0 }))).toThrow(/windowMs/);
    expect(() =>
      parseDemandReport(JSON.stringify({ ...good, windows: [{ start: 0, requests: -1 }] })),
    ).toThrow(/windows\[0\]\.requests/);
    expect(() => parseDemandReport(JSON.stringify({ ...good, p95: { rpm: 1 } }))).toThrow(
      /p95\.inputTpm/,
    );
  });

  it('records what a real pipeline sent: the usage the SDK reported, cache reads included', async () => {
    sim = await startSimulator({
      provider: 'anthropic',
      outputTokens: { min: 3, max: 12 },
      promptCache: { minTokens: 16 },
      faults: { script: [{ kind: 'ok' }, { kind: 'server_error' }] },
    });
    const policy = anthropicPolicy({
      limits: { rpm: 1000, itpm: 1_000_000, otpm: 1_000_000 },
      model: 'claude-sonnet-4-6',
      retry: { maxRetries: 2, baseDelayMs: 1 },
    });
    const recorder = demandRecorder();
    const subscription = recorder.attach(policy);
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'sk-ant-test',
      fetch: policy.fetch,
      maxRetries: 0,
    });
    const system = [
      {
        type: 'text' as const,
        text: 'You answer briefly. '.repeat(20),
        cache_control: { type: 'ephemeral' as const },
      },
    ];
    const totals = { requests: 0, input: 0, output: 0, cached: 0 };
    for (let i = 0; i < 3; i++) {
      const message = await wrap(policy).execute(() =>
        client.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: 16,
          system,
          messages: [{ role: 'user', content: `question ${i}` }],
        }),
      );
      totals.requests++;
      totals.input +=
        message.usage.input_tokens +
        (message.usage.cache_creation_input_tokens ?? 0) +
        (message.usage.cache_read_input_tokens ?? 0);
      totals.output += message.usage.output_tokens;
      totals.cached += message.usage.cache_read_input_tokens ?? 0;
    }
    subscription.dispose();
    const report = recorder.report();
    const sum = (f: 'requests' | 'inputTokens' | 'outputTokens' | 'cachedInputTokens') =>
      report.windows.reduce((s, w) => s + w[f], 0);
    // The 500 in between is not demand served: three calls, not four.
    expect(sum('requests')).toBe(3);
    expect(sum('inputTokens')).toBe(totals.input);
    expect(sum('outputTokens')).toBe(totals.output);
    expect(sum('cachedInputTokens')).toBe(totals.cached);
    expect(totals.cached).toBeGreaterThan(0);
    expect(report.provider).toBe('anthropic');
  });
});
