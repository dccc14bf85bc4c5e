/**
 * Output-token goodput with settle: 16 workers call a model with max_tokens 1024 that answers
 * with 300 tokens after 5 s, under an 8,000 output-tokens/min limit. The limiter reserves
 * max_tokens and settles to the real output. Simulated time (ManualClock): exact and fast.
 * Without refunds the limit would pass 8000 / 1024 ≈ 7.8 calls/min; counting real output it
 * allows 8000 / 300 ≈ 26.7.
 */
import { gcra } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';

export interface GoodputResult {
  readonly callsPerMinute: number;
  readonly outputTokensPerMinute: number;
  readonly limitOutputTokensPerMinute: number;
  readonly withoutRefundsCallsPerMinute: number;
  readonly atRealOutputCallsPerMinute: number;
}

export async function settleGoodput(): Promise<GoodputResult> {
  const OTPM = 8000;
  const MAX_TOKENS = 1024;
  const OUTPUT = 300;
  const LATENCY_MS = 5000;
  const WORKERS = 16;
  const MINUTES = 30;
  const clock = new ManualClock(0);
  const otpm = gcra({ key: 'otpm', limit: OTPM, periodMs: 60_000, clock });
  const end = MINUTES * 60_000;
  let calls = 0;
  const worker = async () => {
    while (clock.now() < end) {
      const permit = await otpm.acquire(MAX_TOKENS);
      if (clock.now() >= end) return;
      await new Promise<void>((resolve) => clock.schedule(resolve, LATENCY_MS));
      await permit.settle(OUTPUT);
      calls++;
    }
  };
  const running = Promise.all(Array.from({ length: WORKERS }, worker));
  while (clock.now() < end + 120_000) await clock.advance(1000);
  await running;
  const callsPerMinute = calls / MINUTES;
  return {
    callsPerMinute,
    outputTokensPerMinute: callsPerMinute * OUTPUT,
    limitOutputTokensPerMinute: OTPM,
    withoutRefundsCallsPerMinute: OTPM / MAX_TOKENS,
    atRealOutputCallsPerMinute: OTPM / OUTPUT,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await settleGoodput());
}
