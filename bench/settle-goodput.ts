/**
 * Output-token goodput with settle: `workers` callers call a model with max_tokens 1024 that
 * answers with 300 tokens after 5 s, under an 8,000 output-tokens/min limit. Each call reserves
 * max_tokens and settles to the real output. Simulated time (ManualClock): exact and fast.
 * Without refunds the limit would pass 8000 / 1024 ≈ 7.8 calls/min; counting real output it
 * allows 8000 / 300 ≈ 26.7. Measured for `gcra()` (fixed reservation slots, refunds within a
 * ledger) and for `Budget` (the provider's bucket with a queue that refunds move forward).
 */
import { Budget, gcra, MemoryBudgetStore } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';

export interface GoodputResult {
  readonly workers: number;
  readonly callsPerMinute: number;
  /** The same traffic through a `Budget`. */
  readonly budgetCallsPerMinute: number;
  readonly outputTokensPerMinute: number;
  readonly limitOutputTokensPerMinute: number;
  readonly withoutRefundsCallsPerMinute: number;
  readonly atRealOutputCallsPerMinute: number;
}

const OTPM = 8000;
const MAX_TOKENS = 1024;
const OUTPUT = 300;
const LATENCY_MS = 5000;
const MINUTES = 30;

/** Calls per minute that `workers` callers get through `acquire` / `settle`. */
async function run(
  workers: number,
  acquire: (clock: ManualClock) => () => Promise<{ settle(actual: number): Promise<unknown> }>,
): Promise<number> {
  const clock = new ManualClock(0);
  const take = acquire(clock);
  const end = MINUTES * 60_000;
  let calls = 0;
  const worker = async () => {
    while (clock.now() < end) {
      const permit = await take();
      if (clock.now() >= end) return;
      await new Promise<void>((resolve) => clock.schedule(resolve, LATENCY_MS));
      await permit.settle(OUTPUT);
      calls++;
    }
  };
  const running = Promise.all(Array.from({ length: workers }, worker));
  while (clock.now() < end + 120_000) await clock.advance(1000);
  await running;
  return calls / MINUTES;
}

export async function settleGoodput(workers = 16): Promise<GoodputResult> {
  const callsPerMinute = await run(workers, (clock) => {
    const otpm = gcra({ key: 'otpm', limit: OTPM, periodMs: 60_000, clock });
    return () => otpm.acquire(MAX_TOKENS);
  });
  const budgetCallsPerMinute = await run(workers, (clock) => {
    const budget = new Budget({
      dimensions: [{ name: 'otpm', key: 'otpm', limit: OTPM }],
      store: new MemoryBudgetStore(),
      clock,
    });
    return async () => {
      const permit = await budget.acquire([MAX_TOKENS]);
      return { settle: (actual: number) => permit.settle([actual]) };
    };
  });
  return {
    workers,
    callsPerMinute,
    budgetCallsPerMinute,
    outputTokensPerMinute: budgetCallsPerMinute * OUTPUT,
    limitOutputTokensPerMinute: OTPM,
    withoutRefundsCallsPerMinute: OTPM / MAX_TOKENS,
    atRealOutputCallsPerMinute: OTPM / OUTPUT,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const workers of [8, 16, 128]) console.log(await settleGoodput(workers));
}
