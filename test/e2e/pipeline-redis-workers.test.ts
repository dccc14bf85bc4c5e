/**
 * Eight worker processes, 16 calls in flight each, share one Anthropic pipeline budget through
 * `anthropicPolicy({ redis, key })` and the real SDK against the simulator, whose buckets hold
 * the same quota per second. At the right limits, then with the provider's feedback steering the
 * budget: a tier configured at twice the real quota, another consumer spending half of it, a
 * spend cap, and output counted as generated. Every call completes or rejects typed; each test
 * prints its figures. At the right limits no 429 at all, as the pipelines issue asks; the goodput
 * floors (0.85 in 12 s) leave room for a loaded 2-core machine: measured 0.95-0.98 in 12 s beside
 * other test files, and the issue's 0.97 in 20 s is measured by `npm run bench:redis-budget` and
 * at the end of `npm run bench` (0.971-0.981). One file: the runs of 8 processes each must not
 * overlap.
 */
import { describe, expect, it } from 'vitest';
import {
  ISSUE_QUOTA,
  type RedisPipelineRun,
  type RedisPipelineRunOptions,
  runRedisPipeline,
} from '../support/pipeline-redis-run.js';
import { redisUrl } from '../support/redis.js';

const QUOTA = ISSUE_QUOTA.anthropic;

/** 8 workers x 16 calls in flight for 12 s at QUOTA, `max_tokens` 1024, with `changes`. */
async function eightWorkers(changes: Partial<RedisPipelineRunOptions> = {}) {
  return runRedisPipeline({
    redisUrl: await redisUrl(),
    workers: 8,
    inFlight: 16,
    windowMs: 12_000,
    perMinute: QUOTA,
    maxTokens: 1024,
    ...changes,
  });
}

function print(name: string, run: RedisPipelineRun): void {
  const { reports, ...figures } = run;
  const feedback = reports.flatMap((r) => r.feedback ?? []);
  console.log(`${name}:`, JSON.stringify({ ...figures, feedback: feedback[0] }));
}

/** The least share of the binding quota a 12 s run must use (the bench's goal is 0.97 in 20 s). */
const GOODPUT_FLOOR = 0.85;

/** Every rejection is of a named error class, never a bare Error or a value. */
function expectTyped(run: RedisPipelineRun): void {
  for (const name of Object.keys(run.rejected)) {
    expect(name).toMatch(/^[A-Z]\w*Error$/);
    expect(name).not.toBe('Error');
  }
  for (const r of run.reports) expect(r.drainedMs).toBeLessThan(10_000);
}

describe('8 workers x 16 calls through one Redis budget', () => {
  it('complete or reject typed, with no provider 429 and the binding quota well used', {
    timeout: 90_000,
  }, async () => {
    const run = await eightWorkers();
    print('at the right limits', run);
    expectTyped(run);
    expect(run.completed).toBeGreaterThan(0);
    expect(run.provider429).toBe(0);
    expect(run.binding).toBe('otpm');
    expect(run.goodput).toBeGreaterThan(GOODPUT_FLOOR);
  });
  it('the same through the OpenAI SDK: no 429, the token quota well used', {
    timeout: 90_000,
  }, async () => {
    const run = await eightWorkers({
      provider: 'openai',
      perMinute: ISSUE_QUOTA.openai,
    });
    print('OpenAI at the right limits', run);
    expectTyped(run);
    expect(run.completed).toBeGreaterThan(0);
    expect(run.provider429).toBe(0);
    expect(run.binding).toBe('tpm');
    expect(run.goodput).toBeGreaterThan(GOODPUT_FLOOR);
  });
});

describe('provider feedback across 8 workers x 16 calls on one Redis budget', () => {
  it('limits configured at twice the real quota: few 429s, the real quota well used', {
    timeout: 90_000,
  }, async () => {
    const run = await eightWorkers({
      configured: { rpm: QUOTA.rpm * 2, itpm: QUOTA.itpm * 2, otpm: QUOTA.otpm * 2 },
    });
    print('configured at 2x', run);
    expectTyped(run);
    expect(run.provider429).toBeLessThan(Math.max(2, run.requests * 0.02));
    expect(run.binding).toBe('otpm');
    expect(run.goodput).toBeGreaterThan(GOODPUT_FLOOR);
    // Every worker adopted the provider's limit.
    for (const r of run.reports) expect(r.feedback?.[0]?.providerLimits.otpm).toBe(QUOTA.otpm / 60);
  });

  it('another consumer spends half of the quota: few 429s, what it leaves well used', {
    timeout: 90_000,
  }, async () => {
    // Anthropic's 2026 rule (output counted as generated), as a preset's pipeline charges it.
    const run = await eightWorkers({
      outputTokens: 'generated',
      simulator: { background: { share: 0.5 } },
    });
    print('other consumer at half', run);
    expectTyped(run);
    // The goal is under 2% (bench:redis-budget on a quiet machine: 0-3 of about 100); the bound
    // here leaves room for a loaded machine, where responses (and so figures) come late.
    expect(run.provider429).toBeLessThanOrEqual(Math.max(3, run.requests * 0.05));
    // The other's spending between two figures is estimated, and held back by every worker that
    // saw a figure show it.
    const outside = run.reports.map((r) => r.feedback?.[0]?.outsideSpend?.otpm ?? 0);
    expect(Math.max(...outside)).toBeGreaterThan(0);
    expect(run.binding).toBe('otpm');
    expect(run.goodput).toBeGreaterThan(GOODPUT_FLOOR);
  });

  it('a spend cap: one request, then none; inspect says until when', {
    timeout: 90_000,
  }, async () => {
    const run = await eightWorkers({
      windowMs: 3_000,
      simulator: { faults: { script: [{ kind: 'spend_cap' }] } },
    });
    print('spend cap', run);
    expectTyped(run);
    expect(run.requests).toBe(1);
    expect(run.spendCapRefused).toBe(1);
    expect(run.completed).toBe(0);
    const now = new Date();
    const firstOfNextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    // The one request's caller gets the SDK's error for it; every other call is refused at once
    // by the stopped budget, in every worker, and each worker's inspect() says until when.
    const { QuotaExhaustedError: stopped = 0, ...others } = run.rejected;
    expect(others).toEqual({ EnforcedSpendLimitReachedError: 1 });
    expect(stopped).toBeGreaterThan(0);
    for (const r of run.reports) {
      expect(r.feedback?.[0]?.quotaStoppedUntil).toBe(firstOfNextMonth);
    }
  });

  it('output counted as generated, 300 of max_tokens 4096 on average: no 429s, the output quota used', {
    timeout: 90_000,
  }, async () => {
    const run = await eightWorkers({
      perMinute: { ...QUOTA, otpm: 600_000 },
      maxTokens: 4096,
      outputRange: { min: 100, max: 500 },
      outputTokens: 'generated',
    });
    print('output counted as generated', run);
    expectTyped(run);
    expect(run.provider429).toBe(0);
    expect(run.binding).toBe('otpm');
    expect(run.goodput).toBeGreaterThan(GOODPUT_FLOOR);
  });
});
