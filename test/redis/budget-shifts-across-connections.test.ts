/**
 * Shifts reach waiters in other workers: a settle in one process's store (its own connection)
 * moves a caller waiting in another's forward, through the store's pub/sub channel. And a waiter
 * that never hears of a shift (its subscriber listens elsewhere) still starts at the start it was
 * given: a lost message only delays, it never strands a waiter nor lets one start early.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Budget } from '../../src/limiter/budget.js';
import {
  type RedisBudgetClient,
  RedisBudgetStore,
} from '../../src/stores/redis/redis-budget-store.js';
import { type RedisServer, redisUrl, startRedisServer, uniquePrefix } from '../support/redis.js';

const clients: Redis[] = [];
let url: string;
let elsewhere: RedisServer;

beforeAll(async () => {
  url = await redisUrl();
  elsewhere = await startRedisServer();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await elsewhere.stop();
});

function connect(at = url): Redis {
  const c = new Redis(at);
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** The real store, counting the claims its waiters make. */
class ClaimCounting extends RedisBudgetStore {
  claims = 0;
  override claim(...args: Parameters<RedisBudgetStore['claim']>) {
    this.claims++;
    return super.claim(...args);
  }
}

/** 10 units per 10 s, burst 10: one unit a second. */
function budgetOn(store: RedisBudgetStore, key: string): Budget {
  return new Budget({ dimensions: [{ name: 'tpm', key, limit: 10, periodMs: 10_000 }], store });
}

describe('RedisBudgetStore shifts', () => {
  it('move a caller waiting in another connection forward when a settle credits', {
    timeout: 30_000,
  }, async () => {
    const prefix = uniquePrefix('shifts');
    const a = budgetOn(new RedisBudgetStore(connect(), { prefix }), 'k');
    const storeB = new ClaimCounting(connect(), { prefix });
    const b = budgetOn(storeB, 'k');
    const taken = await a.acquire([10]);
    const asked = performance.now();
    // Planned 5 s away: the bucket is empty and refills a unit a second.
    const waiting = b.acquire([5]);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.waiting).toBe(1);
    expect((await b.inspect())[0]!.queued).toBe(1);
    await taken.settle([1]); // 9 units credited
    const permit = await waiting;
    const waitedMs = performance.now() - asked;
    console.log(
      `waiter in another connection started after ${Math.round(waitedMs)} ms (planned 5000 ms before the credit)`,
    );
    expect(waitedMs).toBeLessThan(2500);
    // Started by the shift, before its timer: the timer is gone with it, no second claim later.
    const claims = storeB.claims;
    await new Promise((r) => setTimeout(r, 5000 - waitedMs + 300));
    expect(storeB.claims).toBe(claims);
    expect(b.waiting).toBe(0);
    await permit.settle([5]);
  });

  it('a shift published while the subscriber reconnects reaches the waiter by the resync', {
    timeout: 20_000,
  }, async () => {
    // A private server: killing its pub/sub clients touches nobody else's.
    const server = await startRedisServer();
    try {
      const prefix = uniquePrefix('resync');
      const a = budgetOn(new RedisBudgetStore(connect(server.url), { prefix }), 'k');
      const storeB = new RedisBudgetStore(connect(server.url), { prefix });
      const b = budgetOn(storeB, 'k');
      const admin = connect(server.url);
      const taken = await a.acquire([10]);
      const asked = performance.now();
      const waiting = b.acquire([5]); // planned 5 s away
      await new Promise((r) => setTimeout(r, 300));
      // B's subscriber is cut; the credit is published before it is back (ioredis waits 50 ms
      // before its first reconnection), so B never receives that message.
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBe(1);
      await taken.settle([1]);
      await waiting;
      const waitedMs = performance.now() - asked;
      console.log(
        `waiter started ${Math.round(waitedMs)} ms after asking, by the resync (planned 5000 ms)`,
      );
      expect(waitedMs).toBeLessThan(2500);
      storeB.close();
    } finally {
      await server.stop();
    }
  });

  it('a waiter that never hears of a shift still starts at its planned start, not before', {
    timeout: 20_000,
  }, async () => {
    const prefix = uniquePrefix('deaf');
    const a = budgetOn(new RedisBudgetStore(connect(), { prefix }), 'k');
    const main = connect();
    // Scripts on the shared Redis, but the subscriber on another server: no message arrives.
    const deafClient: RedisBudgetClient = {
      evalsha: (...args) => main.evalsha(...args),
      eval: (...args) => main.eval(...args),
      ping: () => main.ping(),
      duplicate: () => connect(elsewhere.url),
    };
    const deaf = new RedisBudgetStore(deafClient, { prefix });
    const b = budgetOn(deaf, 'k');
    const taken = await a.acquire([10]);
    const asked = performance.now();
    const waiting = b.acquire([2]); // planned about 2 s away
    await new Promise((r) => setTimeout(r, 300));
    await taken.settle([0]); // would let it start now, had it heard
    const permit = await waiting;
    const waitedMs = performance.now() - asked;
    console.log(`deaf waiter started after ${Math.round(waitedMs)} ms (planned 2000 ms)`);
    // It claimed at its own planned start (the store's clock decides, a ms or so either way).
    expect(waitedMs).toBeGreaterThan(1500);
    expect(waitedMs).toBeLessThan(4000);
    // And it was charged: the bucket holds what is left, no more.
    const [dim] = await a.inspect();
    expect(dim!.available).toBeLessThanOrEqual(10 - 2 + 1);
    await permit.settle([2]);
    deaf.close();
  });
});
