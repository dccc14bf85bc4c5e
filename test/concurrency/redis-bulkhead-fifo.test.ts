import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type BulkheadPolicy, bulkheadPolicy } from '../../src/concurrency/bulkhead-policy.js';
import { RedisSemaphore } from '../../src/concurrency/redis-semaphore.js';
import { sleep } from '../support/real-time.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { forkWorker, type TestWorker } from '../support/workers.js';

const WORKER = new URL('../fixtures/semaphore-worker.ts', import.meta.url);
const measured: Record<string, number | string> = {};
const clients: Redis[] = [];
async function connect(): Promise<Redis> {
  const c = new Redis(await redisUrl());
  clients.push(c);
  return c;
}
async function cleanup(key: string): Promise<void> {
  const c = clients[0];
  await c?.del(key, `{${key}}:q`, `{${key}}:qt`, `{${key}}:qn`);
}
afterAll(async () => {
  console.info('bulkhead queue figures:', JSON.stringify(measured));
  for (const c of clients) c.disconnect();
});

describe('RedisSemaphore queue: tickets in Redis order the waiters of every connection', () => {
  it('grants permits in ticket order, whatever order the waiters ask in; newcomers never pass', async () => {
    const key = uniquePrefix('sem-fifo');
    const sems = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(
        async () => new RedisSemaphore({ redis: await connect(), key, limit: 1, leaseMs: 10_000 }),
      ),
    );
    const [holder, ...waiters] = sems as [RedisSemaphore, ...RedisSemaphore[]];
    try {
      const first = await holder.acquireOrQueue();
      expect(first).toHaveProperty('lease');
      const tickets: string[] = [];
      for (const w of waiters) {
        const got = await w.acquireOrQueue();
        expect(got).toHaveProperty('ticket');
        tickets.push((got as { ticket: string }).ticket);
      }
      expect(await holder.waiting()).toBe(5);
      await holder.release((first as { lease: string }).lease);
      const order: number[] = [];
      for (let round = 0; round < waiters.length; round++) {
        // the last in line asks first: only the first in line may take the freed permit
        expect(await holder.tryAcquire()).toBeUndefined(); // a newcomer does not pass them
        let grantedThisRound: number | undefined;
        for (let i = waiters.length - 1; i >= 0; i--) {
          const ticket = tickets[i] as string;
          if (order.includes(i)) continue;
          const granted = await (waiters[i] as RedisSemaphore).takeTurn([ticket]);
          if (granted.length > 0) {
            expect(granted).toEqual([ticket]);
            expect(grantedThisRound).toBeUndefined();
            grantedThisRound = i;
          }
        }
        expect(grantedThisRound).toBeDefined();
        order.push(grantedThisRound as number);
        await holder.release(tickets[grantedThisRound as number] as string);
      }
      expect(order).toEqual([0, 1, 2, 3, 4]);
      expect(await holder.waiting()).toBe(0);
      // the queue is empty again: a newcomer takes a free permit at once
      expect(await holder.tryAcquire()).toBeTypeOf('string');
    } finally {
      await cleanup(key);
    }
  });

  it("an expired ticket leaves the queue: a dead waiter blocks others only for its ticket's life", async () => {
    const key = uniquePrefix('sem-fifo');
    const TICKET_MS = 300;
    const make = async () =>
      new RedisSemaphore({
        redis: await connect(),
        key,
        limit: 1,
        leaseMs: 10_000,
        ticketMs: TICKET_MS,
      });
    const [holder, dead, alive] = await Promise.all([make(), make(), make()]);
    try {
      const lease = (await holder.acquireOrQueue()) as { lease: string };
      const deadTicket = (await dead.acquireOrQueue()) as { ticket: string };
      const aliveTicket = (await alive.acquireOrQueue()) as { ticket: string };
      expect(deadTicket.ticket).toBeTypeOf('string');
      await holder.release(lease.lease);
      const start = Date.now();
      // `dead` never asks again; `alive` asks every 20 ms
      let granted: string[] = [];
      while (granted.length === 0 && Date.now() - start < 5000) {
        granted = await alive.takeTurn([aliveTicket.ticket]);
        if (granted.length === 0) await sleep(20);
      }
      const waited = Date.now() - start;
      measured.deadTicketBlockedMs = waited;
      expect(granted).toEqual([aliveTicket.ticket]);
      expect(waited).toBeGreaterThanOrEqual(TICKET_MS * 0.5); // it did wait its turn
      expect(waited).toBeLessThan(TICKET_MS + 1000);
    } finally {
      await cleanup(key);
    }
  });
});

describe('bulkheadPolicy with redis: calls from several connections run in arrival order', () => {
  it('queued calls of four policies on four connections start in the order they queued', async () => {
    const key = uniquePrefix('bulkhead-fifo');
    const policies: BulkheadPolicy[] = [];
    for (let i = 0; i < 4; i++) {
      policies.push(
        bulkheadPolicy({
          redis: await connect(),
          key,
          maxConcurrent: 1,
          maxQueue: 10,
          pollIntervalMs: 10,
        }),
      );
    }
    const sem = new RedisSemaphore({ redis: await connect(), key, limit: 1, leaseMs: 1000 });
    try {
      let release!: () => void;
      const holding = (policies[0] as BulkheadPolicy).execute(
        () => new Promise<void>((r) => (release = r)),
      );
      await sleep(30);
      const started: number[] = [];
      const calls: Promise<void>[] = [];
      const N = 12;
      for (let n = 0; n < N; n++) {
        // round-robin over the policies, so no process's local queue can explain the order
        const policy = policies[(n * 3 + 1) % 4] as BulkheadPolicy;
        calls.push(
          policy.execute(async () => {
            started.push(n);
            await sleep(5);
          }),
        );
        // wait until it holds its ticket before the next one arrives
        const deadline = Date.now() + 2000;
        while ((await sem.waiting()) < n + 1 && Date.now() < deadline) await sleep(2);
      }
      expect(await sem.waiting()).toBe(N);
      release();
      await holding;
      await Promise.all(calls);
      measured.startOrder = started.join(',');
      expect(started).toEqual(Array.from({ length: N }, (_, n) => n));
      expect(await sem.waiting()).toBe(0);
    } finally {
      await cleanup(key);
    }
  });

  it("a SIGKILLed worker's queued call does not block the queue beyond its ticket's life", async () => {
    const key = uniquePrefix('bulkhead-fifo');
    const url = await redisUrl();
    const env = { REDIS_URL: url, SEM_KEY: key, MAX_CONCURRENT: '1', LEASE_MS: '5000' };
    const workers: TestWorker[] = await Promise.all([
      forkWorker(WORKER, env),
      forkWorker(WORKER, env),
    ]);
    const [holderW, deadW] = workers as [TestWorker, TestWorker];
    const sem = new RedisSemaphore({ redis: await connect(), key, limit: 1, leaseMs: 1000 });
    // same poll as the workers: their tickets live max(2000, 10 x 20) ms
    const policy = bulkheadPolicy({
      redis: await connect(),
      key,
      maxConcurrent: 1,
      pollIntervalMs: 20,
    });
    try {
      await holderW.request({ cmd: 'hold' });
      await holderW.waitForEvent((m) => m.type === 'holding');
      deadW.request({ cmd: 'one' }, 30_000).catch(() => undefined); // queued, never served
      const deadline = Date.now() + 5000;
      while ((await sem.waiting()) < 1 && Date.now() < deadline) await sleep(5);
      let startedAt = 0;
      const mine = policy.execute(() => {
        startedAt = Date.now();
      });
      while ((await sem.waiting()) < 2 && Date.now() < deadline) await sleep(5);
      expect(await sem.waiting()).toBe(2);
      deadW.child.kill('SIGKILL');
      const killedAt = Date.now();
      // the holder dies too, its lease is taken away at once (as by an operator): a permit is free
      holderW.child.kill('SIGKILL');
      await clients[0]?.del(key);
      await mine;
      const waited = startedAt - killedAt;
      measured.deadWaiterBlockedMs = waited;
      expect(waited).toBeGreaterThanOrEqual(1000); // the dead ticket was first: it was honoured
      expect(waited).toBeLessThan(2000 + 1500); // until it expired, not forever
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await cleanup(key);
    }
  });
});
