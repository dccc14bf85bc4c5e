/**
 * `SCRIPT FLUSH`, then `FLUSHALL`, under load from three worker processes sharing a budget, with
 * the simulator enforcing the same bucket: the scripts load again (NOSCRIPT is answered by
 * EVAL), no call fails, and the requests sent in any second stay within the bound (burst + one
 * second of refill) — after the flushes too.
 */
import { expect, it } from 'vitest';
import {
  allSent,
  endings,
  faultBench,
  faultConfig,
  maxInWindow,
  QUICK_ANSWERS,
  sleep,
  withWorkers,
} from './fault-run.js';

const WORKERS = 3;
const RPS = 10;

// The simulator enforces the same bucket as the budget.
const bench = faultBench({ ...QUICK_ANSWERS, limits: { rpm: RPS * 60 }, perSecond: true });

it('SCRIPT FLUSH and FLUSHALL mid-run: scripts reload, no failure, no second above the bound', async () => {
  const { sim } = bench();
  const config = faultConfig(bench(), 'faults-flush', { rps: RPS });
  await withWorkers(WORKERS, config, async (workers, admin) => {
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
    const { pending, rejected } = endings(reports);
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
  });
});
