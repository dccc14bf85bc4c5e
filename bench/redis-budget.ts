/**
 * One Anthropic pipeline budget shared through Redis by N worker processes, each with 16 calls in
 * flight through the real SDK against the simulator (per-second buckets holding the quota,
 * `max_tokens` 1024 with 10-50% used), for WINDOW_MS: calls completed, provider 429s and the
 * goodput of the binding quota, counted as the referee of issue #10 counts it (settled cost minus
 * the starting bucket, over the refill in the window). Prints the figures and writes
 * bench-results/redis-budget.json. Figures, never assertions. Env: WORKERS (a list, default
 * "1,4,8"), IN_FLIGHT (16), WINDOW_MS (20000), REDIS_URL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { runRedisPipeline } from '../test/support/pipeline-redis-run.js';

const workers = (process.env.WORKERS ?? '1,4,8').split(',').map(Number);
const inFlight = Number(process.env.IN_FLIGHT ?? 16);
const windowMs = Number(process.env.WINDOW_MS ?? 20_000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const rows: Record<string, object> = {};
for (const n of workers) {
  const { reports, ...run } = await runRedisPipeline({
    redisUrl,
    workers: n,
    inFlight,
    windowMs,
    perMinute: { rpm: 600_000, itpm: 60_000_000, otpm: 180_000 },
    maxTokens: 1024,
  });
  const perWorker = reports.map((r) => r.completed);
  rows[`${n} workers x ${inFlight}`] = {
    ...run,
    rejected: JSON.stringify(run.rejected),
    perWorker: perWorker.join(' '),
  };
}
console.table(rows);
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/redis-budget.json',
  `${JSON.stringify({ inFlight, windowMs, runs: rows }, null, 2)}\n`,
);
process.exit(0);
