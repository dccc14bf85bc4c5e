/**
 * `llm-resilience demo` (what `npm start` runs): 40 calls from 4 concurrent "workers" share one
 * budget of 10 requests/s (burst 5) and 2,000 tokens/s. Each call reserves its slot on both
 * limiters at once and starts exactly when its slot comes; the summary shows that neither limit
 * was exceeded in any second, and which one bound.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../../clock.js';
import { gcra, limiterGroup, MemoryStore, tokenBucket } from '../../limiter/index.js';

export interface DemoOptions {
  calls: number;
  workers: number;
  rps: number;
  burst: number;
  tokensPerSecond: number;
}

export function parseDemoArgs(argv: readonly string[]): DemoOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      calls: { type: 'string', default: '40' },
      workers: { type: 'string', default: '4' },
      rps: { type: 'string', default: '10' },
      burst: { type: 'string', default: '5' },
      'tokens-per-second': { type: 'string', default: '2000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const int = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min)
      throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  return {
    calls: int('calls', values.calls, 1),
    workers: int('workers', values.workers, 1),
    rps: int('rps', values.rps, 1),
    burst: int('burst', values.burst, 1),
    tokensPerSecond: int('tokens-per-second', values['tokens-per-second'], 600),
  };
}

const HELP = `Usage: llm-resilience demo [--calls 40] [--workers 4] [--rps 10] [--burst 5] [--tokens-per-second 2000]

Paces a burst of calls through a requests limiter (GCRA) and a tokens limiter (token bucket),
acquired together, and prints when each call started and why it waited.`;

export async function run(argv: readonly string[]): Promise<number> {
  const options = parseDemoArgs(argv);
  if (options === 'help') {
    console.log(HELP);
    return 0;
  }
  const { calls, workers, rps, burst, tokensPerSecond } = options;
  const store = new MemoryStore();
  const requests = gcra({
    key: 'demo:rps',
    name: 'requests',
    limit: rps,
    periodMs: 1000,
    burst,
    store,
  });
  const tokens = tokenBucket({
    key: 'demo:tps',
    name: 'tokens',
    capacity: tokensPerSecond,
    refillPerSecond: tokensPerSecond,
    store,
  });
  const budget = limiterGroup([requests, tokens]);

  console.log(
    `${calls} calls from ${workers} workers; limits: ${rps} requests/s (burst ${burst}), ${tokensPerSecond} tokens/s\n`,
  );
  console.log('  call  worker  tokens  waited ms  started at ms  bound by');
  const t0 = systemClock.now();
  const starts: Array<{ at: number; tokens: number }> = [];
  let next = 0;
  // Deterministic token costs: 100..600, so tokens bind some of the time and requests the rest.
  const costOf = (i: number) => 100 + ((i * 137) % 6) * 100;
  const worker = async (id: number) => {
    for (let i = next++; i < calls; i = next++) {
      const cost = costOf(i);
      const permit = await budget.acquire([1, cost]);
      const at = systemClock.now() - t0;
      starts.push({ at, tokens: cost });
      const boundBy =
        permit.waitedMs > 0 ? (permit.bindingKey === requests.key ? 'requests' : 'tokens') : '-';
      console.log(
        `  ${String(i + 1).padStart(4)}  ${String(id).padStart(6)}  ${String(cost).padStart(6)}  ${permit.waitedMs.toFixed(1).padStart(9)}  ${at.toFixed(1).padStart(13)}  ${boundBy}`,
      );
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, id) => worker(id + 1)));

  // Worst one-second window over the start times (the limiter's promise: burst + rate × 1 s).
  const sorted = starts.sort((a, b) => a.at - b.at);
  let worstRequests = 0;
  let worstTokens = 0;
  for (let i = 0; i < sorted.length; i++) {
    let n = 0;
    let t = 0;
    for (let j = i; j < sorted.length && sorted[j]!.at - sorted[i]!.at < 1000; j++) {
      n++;
      t += sorted[j]!.tokens;
    }
    worstRequests = Math.max(worstRequests, n);
    worstTokens = Math.max(worstTokens, t);
  }
  const elapsed = (systemClock.now() - t0) / 1000;
  console.log(`\n${calls} calls in ${elapsed.toFixed(2)} s.`);
  console.log(
    `Busiest second: ${worstRequests} requests (allowed: burst ${burst} + ${rps}/s = ${burst + rps}), ${worstTokens} tokens (allowed: ${2 * tokensPerSecond}).`,
  );
  const [r, t] = await budget.inspect();
  console.log(`Now: ${r!.available} requests and ${t!.available} tokens available at once.`);
  return 0;
}
