/**
 * Eight worker processes, 16 calls in flight each, share one Anthropic pipeline budget through
 * `anthropicPolicy({ redis, key })` and the real SDK against the simulator, whose buckets hold
 * the same quota per second. Every call completes or rejects typed, provider 429s stay near
 * zero, and the binding quota (output tokens: `max_tokens` charged at the start, the unused part
 * credited at the end) is used above a floor, with a generous margin for a loaded machine. The
 * figures are printed; `npm run bench:redis-budget` runs the same for longer.
 */
import { describe, expect, it } from 'vitest';
import { runRedisPipeline } from '../support/pipeline-redis-run.js';
import { redisUrl } from '../support/redis.js';

describe('8 workers x 16 calls through one Redis budget', () => {
  it('complete or reject typed, with few provider 429s and the binding quota well used', {
    timeout: 90_000,
  }, async () => {
    const run = await runRedisPipeline({
      redisUrl: await redisUrl(),
      workers: 8,
      inFlight: 16,
      windowMs: 12_000,
      perMinute: { rpm: 600_000, itpm: 60_000_000, otpm: 180_000 },
      maxTokens: 1024,
    });
    const { reports, ...figures } = run;
    console.log('redis budget, 8 workers x 16 in flight:', JSON.stringify(figures));
    // Typed: an error class of its own (the library's, the SDK's), never a bare Error or a value.
    for (const name of Object.keys(run.rejected)) {
      expect(name).toMatch(/^[A-Z]\w*Error$/);
      expect(name).not.toBe('Error');
    }
    // Every worker finished its window: nothing hung past the aborts.
    for (const r of reports) expect(r.drainedMs).toBeLessThan(10_000);
    expect(run.completed).toBeGreaterThan(0);
    expect(run.provider429).toBeLessThanOrEqual(Math.max(2, run.requests * 0.02));
    expect(run.binding).toBe('otpm');
    expect(run.goodput).toBeGreaterThan(0.5);
  });
});
