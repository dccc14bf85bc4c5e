/**
 * Goodput of the provider pipelines against the simulator, in real time: 128 calls in flight
 * through the real SDKs for 20 s, `max_tokens` 1024 with 10-50% used, the simulator charging
 * `max_tokens` at the start and crediting the rest at the end, per-minute buckets. Goodput is
 * counted as the referee of issue #10 counts it: the settled cost of the calls admitted in the
 * window, minus the bucket's starting capacity (a burst-and-die strategy gets it for free), over
 * the refill in the window. Calls still waiting when the window closes are aborted. Prints the
 * figures and writes bench-results/pipeline-goodput.json. Figures, never assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { anthropicPolicy, openaiPolicy, wrap } from '../src/index.js';
import { type Simulator, startSimulator } from '../src/simulator/index.js';
import { MemoryBudgetStore } from '../src/stores/memory-budget-store.js';

const IN_FLIGHT = 128;
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 20_000);
const MAX_TOKENS = 1024;
const OTPM = 60_000;

async function drive(call: (signal: AbortSignal) => Promise<unknown>) {
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
        } catch {
          if (!window.signal.aborted) failed++;
        }
      }
    }),
  );
  clearTimeout(timer);
  return { started, failed };
}

function figures(
  sim: Simulator,
  dimension: 'otpm' | 'tpm',
  run: { started: number; failed: number },
) {
  const stats = sim.stats();
  const d = stats.dimensions[dimension]!;
  const refill = (d.limit / 60_000) * WINDOW_MS;
  return {
    calls: run.started,
    failed: run.failed,
    requests: stats.requests,
    provider429: stats.statuses['429'] ?? 0,
    binding: dimension,
    goodputRatio: Number(((d.charged - d.capacity) / refill).toFixed(3)),
  };
}

const latencyMs = { firstTokenMs: 20, perTokenMs: 0.2 };
const outputTokens = { min: 102, max: 512 };
const user = { role: 'user' as const, content: 'Write a short note on rate limits.' };

const anthropicSim = await startSimulator({
  provider: 'anthropic',
  limits: { rpm: 10_000, itpm: 10_000_000, otpm: OTPM },
  latencyMs,
  outputTokens,
});
const anthropic = anthropicPolicy({
  limits: { rpm: 10_000, itpm: 10_000_000, otpm: OTPM },
  store: new MemoryBudgetStore(),
  bulkhead: { maxConcurrent: IN_FLIGHT, maxQueue: IN_FLIGHT },
});
const claude = new Anthropic({
  baseURL: anthropicSim.url,
  apiKey: 'test',
  maxRetries: 0,
  fetch: anthropic.fetch,
});
const a = figures(
  anthropicSim,
  'otpm',
  await drive((signal) =>
    wrap(anthropic).execute(
      () =>
        claude.messages.create({
          model: 'claude-sonnet-4-6',
          max_tokens: MAX_TOKENS,
          messages: [user],
        }),
      signal,
    ),
  ),
);
await anthropicSim.close();

const openaiSim = await startSimulator({
  provider: 'openai',
  limits: { rpm: 10_000, tpm: 2 * OTPM },
  latencyMs,
  outputTokens,
});
const openaiPipeline = openaiPolicy({
  limits: { rpm: 10_000, tpm: 2 * OTPM },
  store: new MemoryBudgetStore(),
  bulkhead: { maxConcurrent: IN_FLIGHT, maxQueue: IN_FLIGHT },
});
const gpt = new OpenAI({
  baseURL: `${openaiSim.url}/v1`,
  apiKey: 'test',
  maxRetries: 0,
  fetch: openaiPipeline.fetch,
});
const o = figures(
  openaiSim,
  'tpm',
  await drive((signal) =>
    wrap(openaiPipeline).execute(
      () =>
        gpt.chat.completions.create({
          model: 'gpt-4.1-mini',
          max_tokens: MAX_TOKENS,
          messages: [user],
        }),
      signal,
    ),
  ),
);
await openaiSim.close();

const result = { inFlight: IN_FLIGHT, durationS: WINDOW_MS / 1000, anthropic: a, openai: o };
console.table({ anthropic: a, openai: o });
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/pipeline-goodput.json', `${JSON.stringify(result, null, 2)}\n`);
