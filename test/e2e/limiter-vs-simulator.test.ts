/**
 * The problem this library exists for, end to end over HTTP: 16 concurrent workers call the real
 * Anthropic SDK against the simulator, whose limits are enforced as per-second buckets. Without
 * a limiter they collect 429s; through `rateLimitPolicy` (requests + output tokens, settled from
 * `usage`) at 90% of the limits they get none. Real time, about 2 s, with wide margins: the
 * limiter admits at most burst + 0.9 × rate × t, the simulator allows capacity + rate × t.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { gcra, limiterGroup, MemoryStore, rateLimitPolicy, wrap } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';

const RPM = 1200; // 20 requests/s, enforced per second (capacity 20)
const OTPM = 48_000; // 800 output tokens/s, enforced per second (capacity 800)
const MAX_TOKENS = 40;
const CALLS = 48;
const WORKERS = 16;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function runWorkers(call: () => Promise<unknown>): Promise<{ ok: number; limited: number }> {
  let ok = 0;
  let limited = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next++ < CALLS) {
        try {
          await call();
          ok++;
        } catch (error) {
          if (error instanceof Anthropic.RateLimitError) limited++;
          else throw error;
        }
      }
    }),
  );
  return { ok, limited };
}

describe('limiter against the simulator, through the real SDK', () => {
  const params = {
    model: 'claude-sonnet-4',
    max_tokens: MAX_TOKENS,
    messages: [{ role: 'user' as const, content: 'Summarise the quarterly report.' }],
  };

  it('without a limiter, a burst of calls is refused with 429s', async () => {
    sim = await startSimulator({
      provider: 'anthropic',
      limits: { rpm: RPM, otpm: OTPM },
      perSecond: true,
    });
    const client = new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0 });
    // All at once: the bucket holds 20, so even a slow machine sees most of 48 refused.
    const results = await Promise.allSettled(
      Array.from({ length: CALLS }, () => client.messages.create(params)),
    );
    const limited = results.filter(
      (r) => r.status === 'rejected' && r.reason instanceof Anthropic.RateLimitError,
    ).length;
    expect(results.filter((r) => r.status === 'fulfilled').length + limited).toBe(CALLS);
    expect(limited).toBeGreaterThan(0);
  });

  it('through rateLimitPolicy at 90% of the limits: no 429 at all', async () => {
    sim = await startSimulator({
      provider: 'anthropic',
      limits: { rpm: RPM, otpm: OTPM },
      perSecond: true,
    });
    const client = new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0 });
    const store = new MemoryStore();
    const rpm = gcra({ key: 'rpm', limit: (RPM * 9) / 10, periodMs: 60_000, burst: 5, store });
    const otpm = gcra({
      key: 'otpm',
      limit: (OTPM * 9) / 10,
      periodMs: 60_000,
      burst: 5 * MAX_TOKENS,
      store,
    });
    const policy = rateLimitPolicy(limiterGroup([rpm, otpm]), {
      cost: [1, MAX_TOKENS],
      settle: (message) => [1, (message as Anthropic.Message).usage.output_tokens],
    });
    const { ok, limited } = await runWorkers(() =>
      wrap(policy).execute(() => client.messages.create(params)),
    );
    expect(limited).toBe(0);
    expect(ok).toBe(CALLS);
    expect(sim.stats().statuses['429'] ?? 0).toBe(0);
  });
});
