/**
 * A RedisBudgetStore when its Redis (a private redis-server) is killed, in each outage mode, and
 * when it comes back empty (scripts gone): fail-closed rejects typed, callers already waiting
 * included; fail-open admits and says so; local admits this worker's share of the rate; all three
 * return to Redis by themselves.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LimiterUnavailableError } from '../../src/errors/limiter-unavailable-error.js';
import { Budget } from '../../src/limiter/budget.js';
import {
  RedisBudgetStore,
  type RedisBudgetStoreOptions,
  type RedisBudgetUnavailableEvent,
} from '../../src/stores/redis/redis-budget-store.js';
import { type RedisServer, startRedisServer, uniquePrefix } from '../support/redis.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TIMEOUT_MS = 300;

async function setup(
  options: RedisBudgetStoreOptions,
  dimension: { limit: number; periodMs: number; arrivalLagMs?: number } = {
    limit: 10,
    periodMs: 1000,
  },
): Promise<{
  server: RedisServer;
  store: RedisBudgetStore;
  budget: Budget;
}> {
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  redis.on('error', () => {});
  const store = new RedisBudgetStore(redis, {
    prefix: uniquePrefix('boutage'),
    timeoutMs: TIMEOUT_MS,
    recheckMs: 100,
    ...options,
  });
  cleanups.push(async () => {
    store.close();
    redis.disconnect();
    await server.stop();
  });
  // By default 10 units a second, burst 10.
  const budget = new Budget({ dimensions: [{ name: 'rpm', key: 'rpm', ...dimension }], store });
  return { server, store, budget };
}

async function eventually(attempt: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await attempt())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function admittedAtOnce(budget: Budget, max: number): Promise<number> {
  let n = 0;
  while (n < max && (await budget.tryAcquire([1])).allowed) n++;
  return n;
}

describe('RedisBudgetStore outage', () => {
  it('fail-closed: waiting and new callers reject with LimiterUnavailableError; back after a restart', {
    timeout: 30_000,
  }, async () => {
    const { server, store, budget } = await setup({});
    expect(await admittedAtOnce(budget, 20)).toBe(10);
    // Callers queued when the server dies: each settles, started or with the typed error.
    const waiting = Array.from({ length: 8 }, () =>
      budget.acquire([1]).then(
        () => 'started',
        (e: unknown) => e,
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    await server.kill();
    const settledBy = performance.now() + 5000;
    const outcomes = await Promise.all(waiting);
    expect(performance.now()).toBeLessThan(settledBy);
    expect(outcomes.some((o) => o instanceof LimiterUnavailableError)).toBe(true);
    for (const o of outcomes)
      expect(o === 'started' || o instanceof LimiterUnavailableError).toBe(true);
    const started = performance.now();
    await expect(budget.acquire([1])).rejects.toBeInstanceOf(LimiterUnavailableError);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    expect(store.available).toBe(false);
    await server.restart();
    await eventually(
      async () => (await budget.tryAcquire([1]).catch(() => undefined))?.allowed === true,
    );
    expect(store.available).toBe(true);
  });

  it('fail-open: admits everything and emits onUnavailable; back on Redis after a restart', {
    timeout: 30_000,
  }, async () => {
    const { server, store, budget } = await setup({ onUnavailable: 'fail-open' });
    const events: RedisBudgetUnavailableEvent[] = [];
    store.onUnavailable((e) => events.push(e));
    let recovered = 0;
    store.onRecovered(() => recovered++);
    expect(await admittedAtOnce(budget, 20)).toBe(10);
    await server.kill();
    expect(await admittedAtOnce(budget, 30)).toBe(30);
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ mode: 'fail-open', keys: ['rpm'] });
    await server.restart();
    await eventually(async () => {
      await budget.tryAcquire([1]);
      return recovered > 0;
    });
    // Redis limits again (the restarted server is empty: a fresh bucket of 10).
    expect(await admittedAtOnce(budget, 30)).toBeLessThanOrEqual(11);
  });

  it('local: admits this worker share (burst / localWorkers), and re-enters Redis without a burst', {
    timeout: 30_000,
  }, async () => {
    const { server, store, budget } = await setup({ onUnavailable: 'local', localWorkers: 2 });
    let recovered = 0;
    store.onRecovered(() => recovered++);
    expect(await admittedAtOnce(budget, 20)).toBe(10);
    await server.kill();
    // The first call meets the outage; then, the share refilled, take what it gives at once.
    await budget.tryAcquire([1]);
    expect(store.available).toBe(false);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await admittedAtOnce(budget, 20)).toBe(5);
    // A waiting caller is served at the share's rate (5 a second): about 200 ms per unit.
    const asked = performance.now();
    const permit = await budget.acquire([1], { maxWaitMs: 5000 });
    expect(performance.now() - asked).toBeLessThan(1500);
    await permit.settle([1]);
    await server.restart();
    await eventually(async () => {
      await budget.tryAcquire([1]).catch(() => undefined);
      return recovered > 0;
    });
    // Re-entered empty: no burst of 10 right after the outage.
    expect(await admittedAtOnce(budget, 20)).toBeLessThanOrEqual(2);
  });

  it('local: an answered start gets back the arrival lag its share paid, never more', {
    timeout: 30_000,
  }, async () => {
    // 10 units in 10 s (1 s each); a worker's share is a third: 3 s of its bucket per unit.
    const { server, budget } = await setup(
      { onUnavailable: 'local', localWorkers: 3 },
      { limit: 10, periodMs: 10_000, arrivalLagMs: 3_000 },
    );
    await server.kill();
    // The first local start, on a full share: 3 s of cost and 3 s of lag.
    const first = await budget.tryAcquire([1]);
    expect(first.allowed).toBe(true);
    expect((await budget.inspect())[0]!.available).toBe(1);
    // Answered at once: the lag was never lost, and comes back; the cost stays.
    await first.permit!.settle([1], undefined, Date.now());
    // 10 s of share less the 3 s the call costs: 2 units (a lag credited three times over, as a
    // cost is, would have filled the share again: 3).
    expect((await budget.inspect())[0]!.available).toBe(2);
  });
});
