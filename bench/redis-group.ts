/**
 * `npm run bench:redis-group`: the real call shape on Redis. Each call is a three-dimension
 * group acquire (requests, input tokens, output tokens at `max_tokens`) and, once the "response"
 * is in, a settle to the output really used; rate-limiter-flexible does the same three limits
 * with three `RateLimiterRedis` (three `consume`s, then a `reward` of the unused output tokens).
 * Both run IN_FLIGHT such calls at once from one process, on one key each (one provider budget),
 * with limits far above what the machine can ask, so this measures the limiter, not the limit.
 * Then the same from WORKERS processes (IN_FLIGHT each) sharing the budget. Rounds alternate
 * between the two, after one that is not counted, so that a slow spell of a shared machine falls
 * on both; the ratio reported is the median of the rounds' ratios. Prints a table and writes
 * bench-results/redis-group.json. Environment: REDIS_URL (default redis://127.0.0.1:6379),
 * IN_FLIGHT (64), WORKERS (4; 0 skips the multi-process part), ROUNDS (5), PHASE_MS (2000).
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { gcra, limiterGroup, RedisStore } from '../src/index.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 64);
const WORKERS = Number(process.env.WORKERS ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PHASE_MS = Number(process.env.PHASE_MS ?? 2000);

/** One call's figures: a request, its prompt, `max_tokens` reserved, and the output it used. */
const INPUT_TOKENS = 3000;
const MAX_TOKENS = 1024;
const USED_TOKENS = 300;

type Side = 'llm-resilience' | 'rate-limiter-flexible';
const SIDES: readonly Side[] = ['llm-resilience', 'rate-limiter-flexible'];

/**
 * A client as each side gets it. ioredis's auto-pipelining (AUTO_PIPELINING=1) made
 * rate-limiter-flexible slower in trials on this machine, so by default both run without it;
 * ioredis still writes the commands of one turn in one go.
 */
function client(): Redis {
  return new Redis(url, { enableAutoPipelining: process.env.AUTO_PIPELINING === '1' });
}

/** Script calls (EVALSHA and EVAL) the server has run so far, and its µs in them (INFO commandstats). */
async function scriptStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const info = await redis.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/g)) {
    calls += Number(m[1]);
    usec += Number(m[2]);
  }
  return { calls, usec };
}

/** Script calls and Redis µs per call of the side whose phase `measure` runs. */
async function withScriptStats(
  stats: Redis,
  measure: () => Promise<{ count: number; perSecond: number }>,
): Promise<Phase> {
  const before = await scriptStats(stats);
  const { count, perSecond } = await measure();
  const after = await scriptStats(stats);
  return {
    perSecond,
    scriptCallsPerCall: (after.calls - before.calls) / count,
    redisUsPerCall: (after.usec - before.usec) / count,
  };
}

/** The two sides' call, each on a client of its own. */
function makeCalls(prefix: string): {
  calls: Record<Side, () => Promise<unknown>>;
  close: () => Promise<unknown>;
} {
  const ours = client();
  const theirs = client();
  const store = new RedisStore(ours, { prefix });
  // Per second, so the token limits fit the exact arithmetic (burst × period); far above the
  // rate any machine asks, so nothing waits.
  const group = limiterGroup([
    gcra({ key: 'rpm', limit: 1_000_000_000, periodMs: 1000, store }),
    gcra({ key: 'itpm', limit: 2_000_000_000, periodMs: 1000, store }),
    gcra({ key: 'otpm', limit: 2_000_000_000, periodMs: 1000, store }),
  ]);
  const flexible = (name: string) =>
    new RateLimiterRedis({
      storeClient: theirs,
      keyPrefix: `${prefix}-rlf-${name}`,
      points: 1e12,
      duration: 60,
    });
  const rpm = flexible('rpm');
  const itpm = flexible('itpm');
  const otpm = flexible('otpm');
  const calls: Record<Side, () => Promise<unknown>> = {
    'llm-resilience': async () => {
      const permit = await group.acquire([1, INPUT_TOKENS, MAX_TOKENS]);
      await permit.settle([1, INPUT_TOKENS, USED_TOKENS]);
    },
    'rate-limiter-flexible': async () => {
      await Promise.all([
        rpm.consume('k', 1),
        itpm.consume('k', INPUT_TOKENS),
        otpm.consume('k', MAX_TOKENS),
      ]);
      await otpm.reward('k', MAX_TOKENS - USED_TOKENS);
    },
  };
  return { calls, close: () => Promise.all([ours.quit(), theirs.quit()]) };
}

/** Calls completed in `ms` by IN_FLIGHT loops of `call`. */
async function run(call: () => Promise<unknown>, ms: number): Promise<number> {
  const until = performance.now() + ms;
  const loop = async () => {
    let n = 0;
    while (performance.now() < until) {
      await call();
      n++;
    }
    return n;
  };
  const counts = await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  return counts.reduce((a, b) => a + b, 0);
}

interface Round {
  ours: number;
  flexible: number;
  ratio: number;
  /** Script calls Redis ran per acquire + settle (every client of the server counted). */
  oursScriptCallsPerCall?: number;
  flexibleScriptCallsPerCall?: number;
  /** Redis's µs in scripts per acquire + settle. */
  oursRedisUsPerCall?: number;
  flexibleRedisUsPerCall?: number;
}

/** What one phase measured: calls per second, and script calls per call when known. */
interface Phase {
  perSecond: number;
  scriptCallsPerCall?: number;
  redisUsPerCall?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Alternating rounds of `phase(side)` (calls per second), the first not counted. */
async function rounds(phase: (side: Side) => Promise<Phase>): Promise<Round[]> {
  for (const side of SIDES) await phase(side);
  const out: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const ours = await phase('llm-resilience');
    const flexible = await phase('rate-limiter-flexible');
    const ratio = ours.perSecond / flexible.perSecond;
    out.push({
      ours: Math.round(ours.perSecond),
      flexible: Math.round(flexible.perSecond),
      ratio,
      oursScriptCallsPerCall: ours.scriptCallsPerCall,
      flexibleScriptCallsPerCall: flexible.scriptCallsPerCall,
      oursRedisUsPerCall: ours.redisUsPerCall,
      flexibleRedisUsPerCall: flexible.redisUsPerCall,
    });
    const scripts =
      ours.scriptCallsPerCall === undefined
        ? ''
        : `; script calls per call ${ours.scriptCallsPerCall.toFixed(3)} vs ${flexible.scriptCallsPerCall?.toFixed(3)}, Redis µs per call ${ours.redisUsPerCall?.toFixed(1)} vs ${flexible.redisUsPerCall?.toFixed(1)}`;
    console.log(
      `  round ${i + 1}: ${Math.round(ours.perSecond).toLocaleString('en')} vs ${Math.round(flexible.perSecond).toLocaleString('en')} calls/s (${ratio.toFixed(2)}x)${scripts}`,
    );
  }
  return out;
}

/** A worker process: runs the phase the parent names and answers with its count. */
async function child(): Promise<void> {
  const { calls, close } = makeCalls(process.env.BENCH_PREFIX!);
  process.on('message', async (message: { side: Side; ms: number } | 'exit') => {
    if (message === 'exit') {
      await close();
      process.disconnect();
      return;
    }
    const count = await run(calls[message.side], message.ms);
    process.send!({ count });
  });
  process.send!('ready');
}

async function multiProcess(prefix: string, stats: Redis): Promise<Round[]> {
  const self = fileURLToPath(import.meta.url);
  const workers = Array.from({ length: WORKERS }, () =>
    fork(self, ['--child'], {
      env: { ...process.env, BENCH_PREFIX: prefix },
      execArgv: process.execArgv,
    }),
  );
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const phase = async (side: Side): Promise<Phase> => {
    return withScriptStats(stats, async () => {
      const started = performance.now();
      const counts = await Promise.all(
        workers.map(
          (w) =>
            new Promise<number>((resolve) => {
              w.once('message', (m: { count: number }) => resolve(m.count));
              w.send({ side, ms: PHASE_MS });
            }),
        ),
      );
      const count = counts.reduce((a, b) => a + b, 0);
      return { count, perSecond: count / ((performance.now() - started) / 1000) };
    });
  };
  try {
    return await rounds(phase);
  } finally {
    for (const w of workers) w.send('exit');
  }
}

function summary(name: string, r: Round[]) {
  const scripts = (v: number | undefined) => (v === undefined ? undefined : Number(v.toFixed(3)));
  return {
    name,
    rounds: r.map((x) => ({
      ...x,
      ratio: Number(x.ratio.toFixed(3)),
      oursScriptCallsPerCall: scripts(x.oursScriptCallsPerCall),
      flexibleScriptCallsPerCall: scripts(x.flexibleScriptCallsPerCall),
      oursRedisUsPerCall: scripts(x.oursRedisUsPerCall),
      flexibleRedisUsPerCall: scripts(x.flexibleRedisUsPerCall),
    })),
    oursPerSecond: median(r.map((x) => x.ours)),
    rateLimiterFlexiblePerSecond: median(r.map((x) => x.flexible)),
    ratio: Number(median(r.map((x) => x.ratio)).toFixed(3)),
    lowestRatio: Number(Math.min(...r.map((x) => x.ratio)).toFixed(3)),
    oursScriptCallsPerCall: scripts(median(r.map((x) => x.oursScriptCallsPerCall ?? 0))),
    flexibleScriptCallsPerCall: scripts(median(r.map((x) => x.flexibleScriptCallsPerCall ?? 0))),
    oursRedisUsPerCall: scripts(median(r.map((x) => x.oursRedisUsPerCall ?? 0))),
    flexibleRedisUsPerCall: scripts(median(r.map((x) => x.flexibleRedisUsPerCall ?? 0))),
  };
}

async function main(): Promise<void> {
  const prefix = `bench-group-${process.pid}`;
  const load = os.loadavg()[0]!.toFixed(2);
  console.log(
    `Redis group acquire + settle (rpm, itpm, otpm), ${IN_FLIGHT} in flight per process, ${PHASE_MS} ms phases, ${ROUNDS} rounds; node ${process.version}, ${os.cpus().length} cores, load ${load}`,
  );
  const { calls, close } = makeCalls(prefix);
  const stats = client();
  console.log('One process:');
  const one = await rounds((side) =>
    withScriptStats(stats, async () => {
      const count = await run(calls[side], PHASE_MS);
      return { count, perSecond: count / (PHASE_MS / 1000) };
    }),
  );
  await close();
  let many: Round[] | undefined;
  if (WORKERS > 0) {
    console.log(`${WORKERS} processes:`);
    many = await multiProcess(prefix, stats);
  }
  await stats.quit();
  const results = [summary('1 process', one)];
  if (many) results.push(summary(`${WORKERS} processes`, many));
  console.log(
    '\n| processes × in flight | llm-resilience calls/s | rate-limiter-flexible calls/s | ratio (median, lowest) | Redis script calls per call | Redis µs per call |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [i, s] of results.entries()) {
    const shape = `${i === 0 ? 1 : WORKERS} × ${IN_FLIGHT}`;
    console.log(
      `| ${shape} | ${s.oursPerSecond.toLocaleString('en')} | ${s.rateLimiterFlexiblePerSecond.toLocaleString('en')} | ${s.ratio.toFixed(2)}×, ${s.lowestRatio.toFixed(2)}× | ${s.oursScriptCallsPerCall} vs ${s.flexibleScriptCallsPerCall} | ${s.oursRedisUsPerCall?.toFixed(1)} vs ${s.flexibleRedisUsPerCall?.toFixed(1)} |`,
    );
  }
  const loadAfter = os.loadavg()[0]!.toFixed(2);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverage1m: { before: Number(load), after: Number(loadAfter) },
    redis: url.replace(/\/\/[^@]*@/, '//'),
    call: {
      llmResilience:
        'limiterGroup([rpm, itpm, otpm]).acquire([1, 3000, 1024]) then permit.settle([1, 3000, 300])',
      rateLimiterFlexible:
        'Promise.all of three RateLimiterRedis consume (1, 3000, 1024), then otpm.reward(724)',
    },
    inFlightPerProcess: IN_FLIGHT,
    phaseMs: PHASE_MS,
    results,
    goal: { ratioToRateLimiterFlexible: 2 },
  };
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/redis-group.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nload ${load} before, ${loadAfter} after. Wrote bench-results/redis-group.json`);
}

if (process.argv.includes('--child')) await child();
else await main();
