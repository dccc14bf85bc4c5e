/**
 * `npm run bench:redis`: acquires/s from one Node process (64 in flight) on the Redis at
 * REDIS_URL (default redis://127.0.0.1:6379), beside `redis-benchmark` running the same reserve
 * script by EVALSHA (when the binary is present) and rate-limiter-flexible's RateLimiterRedis
 * `consume` on the same server in the same run; added latency per acquire (p50/p99) over a PING.
 * Ours and rate-limiter-flexible run in alternating rounds, so that a slow spell of a shared
 * machine falls on both; the ratio reported is the median of the rounds' ratios, after a round
 * that is not counted.
 * Writes bench-results/redis.json.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { gcra, RedisStore } from '../src/index.js';
import { costUs } from '../src/limiter/rate.js';
import { scriptSha } from '../src/redis/eval-script.js';
import { reserveScript } from '../src/stores/redis/lua/scripts.js';
import { encodeBatch } from '../src/stores/redis/redis-reserve-batch.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const IN_FLIGHT = 64;
const PHASE_MS = 2000;
const ROUNDS = 5;
const WARMUP_MS = 500;

/** Runs `op` with IN_FLIGHT concurrent loops; returns ops/s and per-op latencies (ms). */
async function throughput(
  op: () => Promise<unknown>,
): Promise<{ perSecond: number; latencies: number[] }> {
  const loop = async (until: number, latencies?: number[]) => {
    let n = 0;
    while (performance.now() < until) {
      const t = performance.now();
      await op();
      latencies?.push(performance.now() - t);
      n++;
    }
    return n;
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, () => loop(performance.now() + WARMUP_MS)));
  const latencies: number[] = [];
  const start = performance.now();
  const counts = await Promise.all(
    Array.from({ length: IN_FLIGHT }, () => loop(start + PHASE_MS, latencies)),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { perSecond: counts.reduce((a, b) => a + b, 0) / elapsed, latencies };
}

/** Sequential latencies (ms) of `a` and `b`, interleaved so both see the same conditions. */
async function paired(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  n: number,
): Promise<[number[], number[]]> {
  const time = async (op: () => Promise<unknown>, into: number[]) => {
    const t = performance.now();
    await op();
    into.push(performance.now() - t);
  };
  for (let i = 0; i < 500; i++) await Promise.all([time(a, []), time(b, [])]).catch(() => {});
  const la: number[] = [];
  const lb: number[] = [];
  for (let i = 0; i < n; i++) {
    await time(a, la);
    await time(b, lb);
  }
  return [la, lb];
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

async function redisBenchmark(keys: string[], args: (string | number)[]): Promise<number | null> {
  const { hostname, port } = new URL(url);
  const cli = [
    '-h',
    hostname || '127.0.0.1',
    '-p',
    port || '6379',
    '-c',
    String(IN_FLIGHT),
    '-n',
    '300000',
    '--csv',
    'EVALSHA',
    scriptSha(reserveScript),
    String(keys.length),
    ...keys,
    ...args.map(String),
  ];
  try {
    const { stdout } = await promisify(execFile)('redis-benchmark', cli, { timeout: 60_000 });
    const line = stdout
      .trim()
      .split('\n')
      .find((l) => l.startsWith('"EVALSHA'));
    const rps = line?.split('","')[1];
    return rps ? Number(rps) : null;
  } catch (error) {
    console.warn(`redis-benchmark not run: ${(error as Error).message.split('\n')[0]}`);
    return null;
  }
}

const redis = new Redis(url, { enableAutoPipelining: true });
const prefix = `bench-${process.pid}`;
const store = new RedisStore(redis, { prefix });
// A budget far above what one process can ask: every acquire is granted at once, so this
// measures the store, not the limit.
const limiter = gcra({ key: 'k', limit: 1_000_000, periodMs: 1000, burst: 1_000_000, store });
await limiter.acquire();

const rlf = new RateLimiterRedis({
  storeClient: redis,
  keyPrefix: `${prefix}-rlf`,
  points: 1e9,
  duration: 60,
});
const rounds: Array<{ ours: number; flexible: number; ratio: number }> = [];
let ours = { perSecond: 0, latencies: [] as number[] };
let flexible = { perSecond: 0, latencies: [] as number[] };
// One round first, not counted: both run with their code compiled (the first phase of the first
// round ran about 15% slower than the rest).
await throughput(() => limiter.acquire());
await throughput(() => rlf.consume('k'));
for (let round = 0; round < ROUNDS; round++) {
  ours = await throughput(() => limiter.acquire());
  flexible = await throughput(() => rlf.consume('k'));
  const ratio = ours.perSecond / flexible.perSecond;
  rounds.push({
    ours: Math.round(ours.perSecond),
    flexible: Math.round(flexible.perSecond),
    ratio,
  });
}
const median = (values: number[]) => pct(values, 50);

await redis.script('LOAD', reserveScript.source);
// One reservation per EVALSHA (the batch format with a batch of one): what one acquire costs
// Redis when nothing is coalesced.
const one = encodeBatch(
  [
    {
      specs: [limiter.spec],
      costsUs: [costUs(limiter.spec.rate, 1)],
      maxWaitUs: Number.MAX_SAFE_INTEGER,
      nowUs: 0,
      resolve: () => {},
      reject: () => {},
    },
  ],
  (spec) => store.keyOf(spec),
  ['-', 1000],
);
const benchmarkRps = await redisBenchmark(one.keys, one.args);

const plain = new Redis(url);
const plainStore = new RedisStore(plain, { prefix });
const plainLimiter = gcra({
  key: 'k',
  limit: 1_000_000,
  periodMs: 1000,
  burst: 1_000_000,
  store: plainStore,
});
const [pingLatency, acquireLatency] = await paired(
  () => plain.ping(),
  () => plainLimiter.acquire(),
  5000,
);

const added = acquireLatency.map((a, i) => a - pingLatency[i]!);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  redis: url.replace(/\/\/[^@]*@/, '//'),
  inFlight: IN_FLIGHT,
  phaseMs: PHASE_MS,
  rounds: rounds.map((r) => ({ ...r, ratio: round(r.ratio) })),
  acquiresPerSecond: Math.round(median(rounds.map((r) => r.ours))),
  redisBenchmarkEvalshaPerSecond: benchmarkRps === null ? null : Math.round(benchmarkRps),
  rateLimiterFlexibleConsumePerSecond: Math.round(median(rounds.map((r) => r.flexible))),
  note: 'acquire coalesces the reservations of one event-loop turn into one EVALSHA; redis-benchmark sends one reservation per EVALSHA from 64 connections',
  ratioToRedisBenchmark:
    benchmarkRps === null ? null : round(median(rounds.map((r) => r.ours)) / benchmarkRps),
  ratioToRateLimiterFlexible: round(median(rounds.map((r) => r.ratio))),
  ratioToRateLimiterFlexibleLowest: round(Math.min(...rounds.map((r) => r.ratio))),
  goals: { ratioToRedisBenchmark: 0.5, ratioToRateLimiterFlexible: 1.5 },
  latencyMs: {
    sequentialAcquire: { p50: round(pct(acquireLatency, 50)), p99: round(pct(acquireLatency, 99)) },
    sequentialPing: { p50: round(pct(pingLatency, 50)), p99: round(pct(pingLatency, 99)) },
    // Percentiles of (acquire - PING) over adjacent pairs on one connection.
    addedPerAcquire: { p50: round(pct(added, 50)), p99: round(pct(added, 99)) },
    // Of the last round.
    under64InFlight: { p50: round(pct(ours.latencies, 50)), p99: round(pct(ours.latencies, 99)) },
    rateLimiterFlexibleUnder64InFlight: {
      p50: round(pct(flexible.latencies, 50)),
      p99: round(pct(flexible.latencies, 99)),
    },
  },
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/redis.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
await redis.quit();
await plain.quit();
