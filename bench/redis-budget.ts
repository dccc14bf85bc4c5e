/**
 * One Anthropic pipeline budget shared through Redis by N worker processes, each with 16 calls in
 * flight through the real SDK against the simulator (per-second buckets holding the quota), for
 * WINDOW_MS: calls completed, provider 429s and the goodput of the binding quota, counted as the
 * referee of issue #10 counts it (settled cost minus the starting bucket, over the refill in the
 * window, or the part of it another consumer leaves). Scenarios: the right limits with 1, 4 and 8
 * workers (`max_tokens` 1024, 10-50% used), then with the largest worker count the provider's
 * feedback at work: limits configured at twice the real quota, another consumer spending half of
 * it, and output counted as generated (300 of `max_tokens` 4096 on average); and the right
 * limits through the OpenAI SDK. Prints the figures and writes bench-results/redis-budget.json.
 * Figures, never assertions. Env: WORKERS (a list, default "1,4,8"), IN_FLIGHT (16), WINDOW_MS
 * (20000), SCENARIOS (default "right,openai,2x,other,generated"), REDIS_URL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  ISSUE_QUOTA,
  type RedisPipelineRunOptions,
  runRedisPipeline,
} from '../test/support/pipeline-redis-run.js';

const workers = (process.env.WORKERS ?? '1,4,8').split(',').map(Number);
const inFlight = Number(process.env.IN_FLIGHT ?? 16);
const windowMs = Number(process.env.WINDOW_MS ?? 20_000);
const scenarios = new Set((process.env.SCENARIOS ?? 'right,openai,2x,other,generated').split(','));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const QUOTA = ISSUE_QUOTA.anthropic;
const most = Math.max(...workers);

const runs: [string, RedisPipelineRunOptions][] = [];
const arrivalLagMs = process.env.ARRIVAL_LAG_MS ? Number(process.env.ARRIVAL_LAG_MS) : undefined;
const base = {
  redisUrl,
  inFlight,
  windowMs,
  perMinute: QUOTA,
  maxTokens: 1024,
  ...(arrivalLagMs !== undefined && { arrivalLagMs }),
};
if (scenarios.has('right')) {
  for (const n of workers) runs.push([`right limits, ${n} x ${inFlight}`, { ...base, workers: n }]);
}
if (scenarios.has('openai')) {
  runs.push([
    `OpenAI, right limits, ${most} x ${inFlight}`,
    { ...base, provider: 'openai', workers: most, perMinute: ISSUE_QUOTA.openai },
  ]);
}
if (scenarios.has('2x')) {
  const configured = { rpm: QUOTA.rpm * 2, itpm: QUOTA.itpm * 2, otpm: QUOTA.otpm * 2 };
  runs.push([`configured at 2x, ${most} x ${inFlight}`, { ...base, workers: most, configured }]);
}
if (scenarios.has('other')) {
  runs.push([
    `other consumer at half, ${most} x ${inFlight}`,
    { ...base, workers: most, simulator: { background: { share: 0.5 } } },
  ]);
}
if (scenarios.has('generated')) {
  runs.push([
    `generated output, ${most} x ${inFlight}`,
    {
      ...base,
      workers: most,
      perMinute: { ...QUOTA, otpm: 600_000 },
      maxTokens: 4096,
      outputRange: { min: 100, max: 500 },
      outputTokens: 'generated',
    },
  ]);
}

const rows: Record<string, object> = {};
for (const [name, options] of runs) {
  const { reports, ...run } = await runRedisPipeline(options);
  rows[name] = {
    ...run,
    rejected: JSON.stringify(run.rejected),
    refusedBy: JSON.stringify(run.refusedBy),
    perWorker: reports.map((r) => r.completed).join(' '),
  };
  console.log(name, JSON.stringify(rows[name]));
}
console.table(rows);
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/redis-budget.json',
  `${JSON.stringify({ inFlight, windowMs, runs: rows }, null, 2)}\n`,
);
process.exit(0);
