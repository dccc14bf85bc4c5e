/**
 * `npm run bench` (real time, 180 s per strategy, about 31 minutes) and `npm run bench -- --quick`
 * (compressed time, 5 s per strategy, under 2 minutes): `simulate`'s default traffic through every
 * strategy twice, once configured at the real quota (bench-results/goodput.json) and once at 2x
 * it, the misconfigured budget (bench-results/misconfigured.json), with a chart of each. Both
 * runs meter the same rates (60 requests, 60 000 input and 6 000 output tokens a second); the full
 * one per minute, as the providers do, the quick one per second. Compressed time exaggerates
 * what a 429 costs: `retry-after` comes in whole seconds, a whole period there. Shared budgets go
 * through the Redis at REDIS_URL (default redis://127.0.0.1:6379) when it answers; without one,
 * each worker gets its share of the quota in memory, as `simulate` says. The full run lasts
 * three periods per strategy: in a shorter one the buckets, full at the start, hardly bind.
 * Then, with Redis, the pipelines issue's scenario (bench-results/pipeline-workers.json): 8 worker
 * processes x 16 calls in flight through one Redis budget for 20 s, `max_tokens` 1024 with
 * 10-50% used, per-second buckets, through the Anthropic SDK and the OpenAI SDK (the full run
 * only: --quick stays under 2 minutes); `npm run bench:redis-budget` runs it with its variants.
 * Prints the figures and the issues' goals beside them; figures, never assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { simulate } from '../src/cli/commands/simulate.js';
import { parseSimulateArgs } from '../src/cli/simulate/args.js';
import { redisAnswers } from '../src/cli/simulate/redis-connection.js';
import { chartSvg, summaryTable } from '../src/cli/simulate/report.js';
import { ISSUE_QUOTA, runRedisPipeline } from '../test/support/pipeline-redis-run.js';

const quick = process.argv.includes('--quick');
const time = quick
  ? ['--duration', '5']
  : [
      ...['--duration', '180', '--period-ms', '60000'],
      ...['--limits', 'rpm=3600,itpm=3600000,otpm=360000'],
      ...['--latency-ms', '20', '--per-token-ms', '0.2'],
    ];

const scenarios = [
  { name: 'goodput', file: 'goodput', factor: 1 },
  { name: 'misconfigured (limits at 2x the real quota)', file: 'misconfigured', factor: 2 },
] as const;

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = await redisAnswers(redisUrl);
if (!redis) console.log(`No Redis answered at ${redisUrl}: budgets in memory, one per worker.`);
const { REDIS_URL: _given, ...withoutRedis } = process.env;
const env = redis ? { ...process.env, REDIS_URL: redisUrl } : withoutRedis;

mkdirSync('bench-results', { recursive: true });
for (const { name, file, factor } of scenarios) {
  const parsed = parseSimulateArgs([...time, '--limit-factor', String(factor)], env);
  if (parsed.kind !== 'run') throw new Error(parsed.kind === 'error' ? parsed.message : 'help');
  console.log(`\n== ${name}`);
  const { report, outputs } = await simulate(parsed.scenario, name, {
    line: (text) => console.log(text),
    progress: () => {},
    done: () => {},
  });
  console.log(await summaryTable(report.strategies));
  const ours = report.strategies.find((s) => s.name === 'llm-resilience');
  if (ours) {
    const share429 = ours.billedRequests > 0 ? ours.provider429 / ours.billedRequests : 0;
    console.log(
      factor === 1
        ? `llm-resilience: goodput ${ours.goodputRatio} (goal >= 0.97), provider 429s ${ours.provider429} (goal 0)`
        : `llm-resilience: goodput ${ours.goodputRatio} (goal >= 0.90), 429s ${(share429 * 100).toFixed(1)}% of billed requests (goal < 2%)`,
    );
  }
  writeFileSync(`bench-results/${file}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`bench-results/${file}.svg`, await chartSvg(parsed.scenario, outputs));
  console.log(`Wrote bench-results/${file}.json and bench-results/${file}.svg`);
}

if (quick) {
  console.log(
    '\nThe 8-process pipeline scenario runs in the full run (or npm run bench:redis-budget).',
  );
} else if (redis) {
  console.log('\n== pipelines: 8 worker processes x 16 calls in flight, one Redis budget, 20 s');
  const base = { redisUrl, workers: 8, inFlight: 16, windowMs: 20_000, maxTokens: 1024 };
  const providers: { provider: 'anthropic' | 'openai'; perMinute: Record<string, number> }[] = [
    { provider: 'anthropic', perMinute: ISSUE_QUOTA.anthropic },
    { provider: 'openai', perMinute: ISSUE_QUOTA.openai },
  ];
  const runs = [];
  for (const { provider, perMinute } of providers) {
    const { reports: _reports, ...run } = await runRedisPipeline({ ...base, provider, perMinute });
    console.log(
      `${provider}: ${run.requests} requests, ${run.provider429} provider 429s (goal 0), goodput ${run.goodput} of ${run.binding} (goal >= 0.97)`,
    );
    runs.push({ provider, ...run });
  }
  writeFileSync('bench-results/pipeline-workers.json', `${JSON.stringify(runs, null, 2)}\n`);
  console.log('Wrote bench-results/pipeline-workers.json');
} else {
  console.log('\nThe 8-process pipeline scenario needs Redis: skipped.');
}
