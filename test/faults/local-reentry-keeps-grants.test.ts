/**
 * `onUnavailable: 'local'`, Redis SIGKILLed and restarted empty while a caller keeps reserving:
 * when Redis answers again, the keys served locally re-enter it one by one (a hold each, pushed
 * by as far as their local schedule ran ahead), and only then is the outage over. Measured
 * before the fix: calls arriving while a key's hold was on its way were served locally and the
 * key marked, but then released: their slots never reached Redis, the local store was reset, and
 * Redis granted the same slots again: 100 pairs of slots closer than the interval with the holds
 * below, 1 at link speed (two runs each).
 *
 * One worker (`localWorkers: 1`: the share is the whole budget), one GCRA key at 50/s with a
 * burst of 1, and a test clock that Redis uses too, so every slot is exact: any two granted slots
 * closer than 20 ms break the limit. A pass-through client answers every hold HOLD_DELAY_MS late
 * (a slow link at the moment of re-entry), so calls come during the re-entry on every run; the
 * same run at link speed shows how often it happens without help. Prints the figures.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisStore } from '../../src/index.js';
import type { BudgetSpec } from '../../src/limiter/budget-store.js';
import { makeRate } from '../../src/limiter/rate.js';
import type { LimiterSpec } from '../../src/limiter/store.js';
import { type LuaScript, scriptSha } from '../../src/redis/eval-script.js';
import { budgetHoldScript } from '../../src/stores/redis/lua/budget-scripts.js';
import { holdScript } from '../../src/stores/redis/lua/scripts.js';
import {
  type RedisBudgetClient,
  RedisBudgetStore,
} from '../../src/stores/redis/redis-budget-store.js';
import { ManualClock } from '../../src/testing/index.js';
import {
  connectForOutage,
  type RedisServerHandle,
  startRedisServer,
  uniquePrefix,
} from '../support/redis.js';
import { sleep } from './fault-run.js';

const INTERVAL_US = 20_000;
const HOLD_DELAY_MS = 150;
const MAX = Number.MAX_SAFE_INTEGER;

let server: RedisServerHandle;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = await connectForOutage(server);
});
afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

/** `redis`, with every call of `script` (a hold) answered `delayMs` late (sent at once). */
function slowHolds(
  redis: Redis,
  delayMs: number,
  script: LuaScript = holdScript,
): RedisBudgetClient {
  const hold = scriptSha(script);
  const late = async <T>(sent: Promise<T>): Promise<T> => {
    const settled = await sent.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await sleep(delayMs);
    if ('error' in settled) throw settled.error;
    return settled.value;
  };
  return {
    evalsha: (sha, ...args) =>
      sha === hold ? late(redis.evalsha(sha, ...args)) : redis.evalsha(sha, ...args),
    eval: (source, ...args) =>
      source === script.source ? late(redis.eval(source, ...args)) : redis.eval(source, ...args),
    ping: () => redis.ping(),
    duplicate: () => redis.duplicate(),
  };
}

interface Run {
  /** Granted slots (µs of the test clock), with where they were decided. */
  readonly slots: { readonly atUs: number; readonly local: boolean; readonly phase: string }[];
  /** Pairs of consecutive slots closer than the interval. */
  readonly tooClose: number;
  readonly closestUs: number;
  /** Reservations served locally after the restart, before the outage was over. */
  readonly localAfterRestart: number;
}

async function outageRun(holdDelayMs: number): Promise<Run> {
  const clock = new ManualClock(1_800_000_000_000);
  const store = new RedisStore(slowHolds(client, holdDelayMs), {
    prefix: uniquePrefix('faults-reentry'),
    onUnavailable: 'local',
    localWorkers: 1,
    recheckMs: 20,
    timeoutMs: 1000,
    clock,
  });
  store.onUnavailable(() => {});
  let recovered = false;
  store.onRecovered(() => {
    recovered = true;
  });
  const spec: LimiterSpec = { key: 'k', algorithm: 'gcra', rate: makeRate(50, 1_000_000, 1) };
  const slots: Run['slots'] = [];
  const reserve = async (phase: string) => {
    const nowUs = Math.floor(clock.now() * 1000);
    const outcome = await store.reserve([spec], [INTERVAL_US], MAX, nowUs).catch(() => undefined);
    if (outcome?.granted) {
      slots.push({ atUs: nowUs + outcome.waitUs, local: outcome.serverNowUs === undefined, phase });
    }
  };
  // On Redis: a slot every 20 ms, the caller keeping pace.
  await driveOutage(clock, reserve, () => recovered, { steps: 10, stepMs: 20, after: 50 });
  expect(recovered).toBe(true);
  const localAfterRestart = slots.filter((s) => s.phase === 'restart' && s.local).length;
  return { slots, ...gaps(slots), localAfterRestart };
}

/**
 * Drives one caller's `step` around a Redis outage: `steps` steps `stepMs` apart on Redis, the
 * kill, a second (the bucket is full again by the time the outage is seen: its start is not what
 * this measures), as many steps in the outage, the restart, then a step every real ms (2 ms of
 * the test clock: the caller asks faster than the rate, so starts are granted ahead) until the
 * store is back and `after` steps more.
 */
async function driveOutage(
  clock: ManualClock,
  step: (phase: string) => Promise<void>,
  recovered: () => boolean,
  o: { steps: number; outageSteps?: number; stepMs: number; after: number },
): Promise<void> {
  for (let i = 0; i < o.steps; i++) {
    await step('before');
    clock.set(clock.now() + o.stepMs);
  }
  await server.kill();
  clock.set(clock.now() + 1000);
  for (let i = 0; i < (o.outageSteps ?? o.steps); i++) {
    await step('outage');
    clock.set(clock.now() + o.stepMs);
  }
  await server.restart();
  let after = 0;
  for (let i = 0; i < 10_000 && after < o.after; i++) {
    if (recovered()) after++;
    await step(recovered() ? 'back' : 'restart');
    clock.set(clock.now() + 2);
    await sleep(1);
  }
}

/** Pairs of consecutive granted times closer than the interval, and the closest pair. */
function gaps(granted: readonly { readonly atUs: number }[]): {
  tooClose: number;
  closestUs: number;
} {
  const sorted = granted.map((g) => g.atUs).sort((a, b) => a - b);
  let tooClose = 0;
  let closestUs = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]! - sorted[i - 1]!;
    closestUs = Math.min(closestUs, gap);
    if (gap < INTERVAL_US) tooClose++;
  }
  return { tooClose, closestUs };
}

it('calls served locally while the keys re-enter Redis keep the limit after the outage', {
  timeout: 60_000,
}, async () => {
  const slow = await outageRun(HOLD_DELAY_MS);
  const fast = await outageRun(0);
  for (const [name, run] of [
    [`holds answered ${HOLD_DELAY_MS} ms late`, slow],
    ['holds at link speed', fast],
  ] as const) {
    console.log(
      `[faults] local mode re-entry, ${name}: ${run.slots.length} slots granted, ${run.localAfterRestart} of them locally after the restart; ` +
        `${run.tooClose} pairs closer than ${INTERVAL_US / 1000} ms (closest ${(run.closestUs / 1000).toFixed(2)} ms)`,
    );
  }
  expect(slow.slots.filter((s) => s.phase === 'back' && !s.local).length).toBeGreaterThan(0);
  expect(slow.tooClose).toBe(0);
  expect(fast.tooClose).toBe(0);
});

interface BudgetRun {
  /** Starts (µs of the test clock: a Budget charges a call when it starts). */
  readonly starts: { readonly atUs: number; readonly phase: string }[];
  readonly tooClose: number;
  /** Claims answered `lost` (a ticket Redis does not know: the caller reserves again). */
  readonly lost: number;
  /** The longest a caller waited from its first reservation to its start, in ms. */
  readonly longestWaitMs: number;
}

/**
 * The same outage for a Budget's store, driven as a Budget drives it: CALLERS callers keep a
 * reservation each; a queued one claims at its planned start and reserves again when its ticket
 * is lost.
 */
async function budgetRun(holdDelayMs: number): Promise<BudgetRun> {
  const clock = new ManualClock(1_800_000_000_000);
  const store = new RedisBudgetStore(slowHolds(client, holdDelayMs, budgetHoldScript), {
    prefix: uniquePrefix('faults-reentry-budget'),
    onUnavailable: 'local',
    localWorkers: 1,
    recheckMs: 20,
    timeoutMs: 1000,
    clock,
  });
  store.onUnavailable(() => {});
  let recovered = false;
  store.onRecovered(() => {
    recovered = true;
  });
  const spec: BudgetSpec = { key: 'k', rate: makeRate(50, 1_000_000, 1), lagUs: 0 };
  const nowUs = () => Math.floor(clock.now() * 1000);
  const starts: BudgetRun['starts'] = [];
  const waiting: { seq: number; startUs: number; askedUs: number }[] = [];
  let lost = 0;
  let longestWaitUs = 0;
  const started = (askedUs: number, phase: string) => {
    starts.push({ atUs: nowUs(), phase });
    longestWaitUs = Math.max(longestWaitUs, nowUs() - askedUs);
  };
  const reserve = async (askedUs: number, phase: string) => {
    const r = await store.reserve([spec], [INTERVAL_US], MAX, nowUs()).catch(() => undefined);
    if (!r?.granted) return;
    const plan = r.plans[0]!;
    if (plan.queued) waiting.push({ seq: plan.seq, startUs: nowUs() + plan.waitUs, askedUs });
    else started(askedUs, phase);
  };
  const step = async (phase: string) => {
    for (const w of [...waiting].sort((a, b) => a.seq - b.seq)) {
      if (w.startUs > nowUs()) continue;
      const c = await store.claim([spec], [w.seq], nowUs()).catch(() => undefined);
      if (!c) continue;
      if (c.status === 'wait') {
        w.startUs = nowUs() + c.waitUs;
        continue;
      }
      waiting.splice(waiting.indexOf(w), 1);
      if (c.status === 'started') started(w.askedUs, phase);
      else {
        lost++;
        await reserve(w.askedUs, phase);
      }
    }
    while (waiting.length < BUDGET_CALLERS) await reserve(nowUs(), phase);
  };
  await driveOutage(clock, step, () => recovered, {
    steps: 20,
    outageSteps: 30,
    stepMs: 10,
    after: 100,
  });
  expect(recovered).toBe(true);
  return { starts, tooClose: gaps(starts).tooClose, lost, longestWaitMs: longestWaitUs / 1000 };
}

const BUDGET_CALLERS = 4;

it('a budget served locally keeps the limit after the outage; its queued callers reserve again', {
  timeout: 60_000,
}, async () => {
  const slow = await budgetRun(HOLD_DELAY_MS);
  const fast = await budgetRun(0);
  for (const [name, run] of [
    [`holds answered ${HOLD_DELAY_MS} ms late`, slow],
    ['holds at link speed', fast],
  ] as const) {
    console.log(
      `[faults] budget local mode re-entry, ${name}: ${run.starts.length} starts, ${run.tooClose} pairs closer than ${INTERVAL_US / 1000} ms, ` +
        `${run.lost} local tickets lost at the return (reserved again on Redis), longest wait ${run.longestWaitMs.toFixed(0)} ms`,
    );
  }
  expect(slow.starts.filter((s) => s.phase === 'back').length).toBeGreaterThan(0);
  expect(slow.tooClose).toBe(0);
  expect(fast.tooClose).toBe(0);
});
