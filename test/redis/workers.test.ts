/**
 * Several processes share one budget through Redis. Slot starts are measured on the Redis
 * server's clock (the start each grant was charged at), so a loaded machine can slow the
 * workers but not skew the measurement.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { gcraBound, jainIndex, runWorkers } from '../support/worker-runs.js';

const script = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const RATE = 200;
const BURST = 10;
const INTERVAL_US = 1_000_000 / RATE;

describe('workers sharing one budget', () => {
  it('8 processes at 200/s, burst 10, for 5 s: within the GCRA bound, >= 97% used, fair', {
    timeout: 60_000,
  }, async () => {
    const url = await redisUrl();
    const prefix = uniquePrefix('eight');
    const durationMs = 5000;
    const config = {
      url,
      prefix,
      limit: RATE,
      periodMs: 1000,
      burst: BURST,
      durationMs,
      concurrency: 4,
      skewMs: 0,
    };
    const { starts } = await runWorkers(
      script,
      Array.from({ length: 8 }, () => config),
    );
    const all = starts.flat();
    expect(all.length).toBeLessThanOrEqual(gcraBound(all, BURST, INTERVAL_US));
    expect(all.length).toBeGreaterThanOrEqual(0.97 * RATE * (durationMs / 1000));
    expect(jainIndex(starts.map((s) => s.length))).toBeGreaterThanOrEqual(0.95);
  });

  it('processes whose clocks are 30 s ahead or behind admit no more than the bound', {
    timeout: 60_000,
  }, async () => {
    const url = await redisUrl();
    const prefix = uniquePrefix('skewed');
    const base = {
      url,
      prefix,
      limit: RATE,
      periodMs: 1000,
      burst: BURST,
      durationMs: 2000,
      concurrency: 4,
    };
    const skews = [30_000, -30_000, 30_000, -30_000];
    const { starts } = await runWorkers(
      script,
      skews.map((skewMs) => ({ ...base, skewMs })),
    );
    const all = starts.flat();
    expect(all.length).toBeLessThanOrEqual(gcraBound(all, BURST, INTERVAL_US));
    // Every worker got slots: a skewed clock neither starves nor favours a worker.
    for (const own of starts) expect(own.length).toBeGreaterThan(0);
    expect(all.length).toBeGreaterThanOrEqual(0.9 * RATE * 2);
  });
});
