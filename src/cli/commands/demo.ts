/**
 * `llm-resilience demo` (what `npm start` runs): 40 calls from 4 concurrent "workers" share one
 * budget of 10 requests/s (burst 5) and 2,000 tokens/s. Each call reserves its slot on both
 * limiters at once and starts exactly when its slot comes; the summary shows that neither limit
 * was exceeded in any second, and which one bound.
 */
import { systemClock } from '../../clock.js';
import { gcra, limiterGroup, MemoryStore, tokenBucket } from '../../limiter/index.js';
import { type NotARun, parseCommandOptions, runParsed, TEXT } from '../command-args.js';

export interface DemoOptions {
  calls: number;
  workers: number;
  rps: number;
  burst: number;
  tokensPerSecond: number;
}

/** Turns `demo`'s arguments into options; never throws. */
export function parseDemoArgs(
  argv: readonly string[],
): NotARun | { readonly kind: 'run'; readonly options: DemoOptions } {
  const parsed = parseCommandOptions(argv, {
    calls: TEXT,
    workers: TEXT,
    rps: TEXT,
    burst: TEXT,
    'tokens-per-second': TEXT,
  });
  if (parsed.kind !== 'values') return parsed;
  const { values } = parsed;
  const int = (name: keyof typeof values, fallback: number, min: number): number => {
    const raw = values[name];
    if (typeof raw !== 'string') return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min)
      throw new RangeError(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  try {
    return {
      kind: 'run',
      options: {
        calls: int('calls', 40, 1),
        workers: int('workers', 4, 1),
        rps: int('rps', 10, 1),
        burst: int('burst', 5, 1),
        tokensPerSecond: int('tokens-per-second', 2000, 600),
      },
    };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { kind: 'error', message: error.message };
  }
}

const HELP = `Usage: llm-resilience demo [--calls 40] [--workers 4] [--rps 10] [--burst 5] [--tokens-per-second 2000]

Paces a burst of calls through a requests limiter (GCRA) and a tokens limiter (token bucket),
acquired together, and prints when each call started and why it waited.`;

export function run(argv: readonly string[]): Promise<number> {
  return runParsed(parseDemoArgs(argv), { name: 'demo', usage: HELP }, ({ options }) =>
    demo(options),
  );
}

async function demo(options: DemoOptions): Promise<number> {
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
