/**
 * `SCRIPT FLUSH`, then `FLUSHALL`, under load from three worker processes sharing a budget, with
 * the simulator enforcing the same bucket: the scripts load again (NOSCRIPT is answered by
 * EVAL), no call fails, and the requests sent in any second stay within the bound (burst + one
 * second of refill) — after the flushes too.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type RedisServerHandle, startRedisServer, uniquePrefix } from '../support/redis.js';
import {
  allSent,
  type FaultWorker,
  killAll,
  maxInWindow,
  rejections,
  sleep,
  startWorkers,
} from './fault-run.js';

const WORKERS = 3;
const RPS = 10;

let sim: Simulator;
let server: RedisServerHandle;
beforeAll(async () => {
  sim = await startSimulator({
    provider: 'anthropic',
    limits: { rpm: RPS * 60 },
    perSecond: true,
    latencyMs: { firstTokenMs: 40, perTokenMs: 1 },
    outputTokens: { min: 10, max: 30 },
  });
  server = await startRedisServer();
});
afterAll(async () => {
  await sim?.close();
  await server?.stop();
});

it('SCRIPT FLUSH and FLUSHALL mid-run: scripts reload, no failure, no second above the bound', async () => {
  let workers: FaultWorker[] = [];
  const admin = new Redis(server.url);
  try {
    workers = await startWorkers(WORKERS, {
      redisUrl: server.url,
      simUrl: sim.url,
      prefix: uniquePrefix('faults-flush'),
      key: 'org',
      inFlight: 4,
      mode: 'fail-closed',
      timeoutMs: 500,
      recheckMs: 250,
      limits: { rpm: RPS, itpm: 1_000_000, otpm: 1_000_000 },
      periodMs: 1000,
      maxTokens: 64,
    });
    const before = sim.stats();
    for (const w of workers) w.go();
    await sleep(2000);
    const scriptFlushAt = Date.now();
    await admin.script('FLUSH');
    await sleep(2000);
    const flushAllAt = Date.now();
    await admin.flushall();
    await sleep(3000);
    const reports = await Promise.all(workers.map((w) => w.stop()));
    const stats = sim.stats();
    const sent = allSent(reports);
    const phase = (from: number, to: number) => {
      const times = sent.filter((t) => t >= from && t < to);
      return { sent: times.length, maxPerSecond: maxInWindow(times, 1000) };
    };
    const start = Math.min(...sent);
    const phases = {
      steady: phase(start, scriptFlushAt),
      afterScriptFlush: phase(scriptFlushAt, flushAllAt),
      afterFlushAll: phase(flushAllAt, Date.now()),
    };
    const provider429 = (stats.statuses['429'] ?? 0) - (before.statuses['429'] ?? 0);
    const rejected = rejections(reports);
    const pending = reports.reduce((a, r) => a + r.pending, 0);
    // Any second: a full bucket (RPS) and a second of refill (RPS); the first second starts full.
    const bound = 2 * RPS;
    console.log(
      `[faults] SCRIPT FLUSH + FLUSHALL, budget ${RPS}/s burst ${RPS}: most requests in one second ` +
        `steady ${phases.steady.maxPerSecond}, after SCRIPT FLUSH ${phases.afterScriptFlush.maxPerSecond}, ` +
        `after FLUSHALL ${phases.afterFlushAll.maxPerSecond} (bound ${bound}); sent ${JSON.stringify(phases)}, ` +
        `provider 429s ${provider429}, rejected ${JSON.stringify(rejected)}, pending ${pending}`,
    );
    expect(pending).toBe(0);
    expect(rejected).toEqual({});
    expect(phases.afterScriptFlush.sent).toBeGreaterThan(0);
    expect(phases.afterFlushAll.sent).toBeGreaterThan(0);
    expect(phases.steady.maxPerSecond).toBeLessThanOrEqual(bound);
    expect(phases.afterScriptFlush.maxPerSecond).toBeLessThanOrEqual(bound);
    expect(phases.afterFlushAll.maxPerSecond).toBeLessThanOrEqual(bound);
  } finally {
    killAll(workers);
    admin.disconnect();
  }
});
