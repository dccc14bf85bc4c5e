import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { circuitBreakerPolicy } from '../../src/circuit/circuit-breaker-policy.js';
import { sleep } from '../support/real-time.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { forkWorker, type TestWorker, type WorkerMessage } from '../support/workers.js';

const WORKER = new URL('../fixtures/circuit-worker.ts', import.meta.url);
// So long that only a published change can explain a worker learning of it within the test.
const SYNC_INTERVAL_MS = 10_000;
const BOUND_MS = 2000;

const measured: Record<string, number[]> = { openLagMs: [], afterReconnectMs: [] };
afterAll(() => {
  console.info('shared circuit pub/sub lags (ms):', JSON.stringify(measured));
});

/** Ids of the pub/sub connections named `name` (a client's duplicate keeps its name). */
async function pubsubIds(admin: Redis, name: string): Promise<string[]> {
  return ((await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
    .split('\n')
    .filter((line) => line.includes(`name=${name} `))
    .map((line) => /id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
}

/** Polls `check` until it holds or 5 s pass (a loaded machine subscribes late); returns it. */
async function until(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (!(await check()) && Date.now() < deadline) await sleep(20);
  return check();
}

const outage = () => Object.assign(new Error('529 Overloaded'), { status: 529 });

/** Resolves with Date.now() when `policy` reports `state`. */
function whenState(
  policy: { onStateChange(fn: (s: { state: string }) => void): { dispose(): void } },
  state: string,
): Promise<number> {
  return new Promise((resolve) => {
    const sub = policy.onStateChange((s) => {
      if (s.state !== state) return;
      sub.dispose();
      resolve(Date.now());
    });
  });
}

describe('shared circuit: changes are published, polling is only the fallback', () => {
  let workers: TestWorker[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
  });

  it('a worker process learns of an open circuit far sooner than its 10 s poll', async () => {
    const url = await redisUrl();
    const key = `${uniquePrefix('circuit-pubsub')}:anthropic`;
    const env = {
      REDIS_URL: url,
      CIRCUIT_KEY: key,
      HALF_OPEN_MS: '30000',
      SYNC_INTERVAL_MS: String(SYNC_INTERVAL_MS),
    };
    workers = await Promise.all([forkWorker(WORKER, env), forkWorker(WORKER, env)]);
    const [w0, w1] = workers as [TestWorker, TestWorker];
    // both workers' subscribers listen (a loaded machine may take longer than their 'ready')
    const admin = new Redis(url);
    const listeners = async () =>
      Number(((await admin.pubsub('NUMSUB', `${key}:changed`)) as [string, number])[1]);
    expect(await until(async () => (await listeners()) >= 2)).toBe(true);
    admin.disconnect();
    const isOpen = (m: WorkerMessage) => m.type === 'state' && m.state === 'open';
    for (let round = 0; round < 3; round++) {
      await w0.request({ cmd: 'fail', n: 3 });
      const opened = await w0.waitForEvent(isOpen);
      const seen = await w1.waitForEvent(isOpen, BOUND_MS + 1000);
      const lag = (seen.at as number) - (opened.at as number);
      measured.openLagMs?.push(lag);
      expect(lag).toBeLessThan(BOUND_MS);
      const reply = await w1.request<{ outcome: string; invoked: boolean } & WorkerMessage>({
        cmd: 'call',
      });
      expect(reply).toMatchObject({ outcome: 'broken', invoked: false });
      if (round < 2) {
        // close it again for the next round (as a successful probe would), seen by both
        const redis = new Redis(url);
        await redis.del(key);
        await redis.publish(`${key}:changed`, 'reset');
        redis.disconnect();
        const closed = (m: WorkerMessage) =>
          m.type === 'state' && m.state === 'closed' && (m.at as number) >= (seen.at as number);
        await Promise.all([w0.waitForEvent(closed, 5000), w1.waitForEvent(closed, 5000)]);
        w0.events.length = 0;
        w1.events.length = 0;
      }
    }
  });

  it('after its subscriber connection is killed, a worker re-reads the state when it reconnects', async () => {
    const url = await redisUrl();
    const key = `${uniquePrefix('circuit-pubsub')}:openai`;
    const name = key.replace(/[^a-zA-Z0-9-]/g, '-');
    const clientA = new Redis(url);
    const clientB = new Redis(url, { connectionName: name });
    const admin = new Redis(url);
    const shared = { key, syncIntervalMs: SYNC_INTERVAL_MS };
    const a = circuitBreakerPolicy({
      consecutiveFailures: 2,
      halfOpenAfterMs: 30_000,
      shared: { ...shared, redis: clientA },
    });
    const b = circuitBreakerPolicy({
      consecutiveFailures: 2,
      halfOpenAfterMs: 30_000,
      shared: { ...shared, redis: clientB },
    });
    try {
      // B's subscriber is the duplicate of clientB: same connection name, in pub/sub mode.
      expect(await until(async () => (await pubsubIds(admin, name)).length === 1)).toBe(true);
      const ids = await pubsubIds(admin, name);
      expect(ids).toHaveLength(1);
      const seenByB = whenState(b, 'open');
      await admin.call('CLIENT', 'KILL', 'ID', ids[0] as string);
      // opened while B's subscriber is away: the message is lost, the re-read finds it
      const openedAt = Date.now();
      for (let i = 0; i < 2; i++) await a.execute(() => Promise.reject(outage())).catch(() => {});
      expect(a.inspect().state).toBe('open');
      const lag = (await seenByB) - openedAt;
      measured.afterReconnectMs?.push(lag);
      expect(lag).toBeLessThan(BOUND_MS);
      await expect(b.execute(() => 'not called')).rejects.toThrow(/circuit/i);
    } finally {
      a.dispose();
      b.dispose();
      await admin.del(key);
      for (const c of [clientA, clientB, admin]) c.disconnect();
    }
  });

  it('closing the client closes the subscriber too, even without dispose()', async () => {
    const url = await redisUrl();
    const key = `${uniquePrefix('circuit-pubsub')}:quit`;
    const name = key.replace(/[^a-zA-Z0-9-]/g, '-');
    const client = new Redis(url, { connectionName: name });
    const admin = new Redis(url);
    const subscribers = async () => (await pubsubIds(admin, name)).length;
    const policy = circuitBreakerPolicy({ shared: { redis: client, key } });
    try {
      expect(await until(async () => (await subscribers()) === 1)).toBe(true);
      await client.quit(); // the caller forgot policy.dispose()
      // nothing left to keep the process alive
      expect(await until(async () => (await subscribers()) === 0)).toBe(true);
    } finally {
      policy.dispose();
      admin.disconnect();
    }
  });

  it('disposing the last policy closes the shared subscriber connection', async () => {
    const url = await redisUrl();
    const key = `${uniquePrefix('circuit-pubsub')}:close`;
    const name = key.replace(/[^a-zA-Z0-9-]/g, '-');
    const client = new Redis(url, { connectionName: name });
    const admin = new Redis(url);
    const subscribers = async () => (await pubsubIds(admin, name)).length;
    const p1 = circuitBreakerPolicy({ shared: { redis: client, key: `${key}:1` } });
    const p2 = circuitBreakerPolicy({ shared: { redis: client, key: `${key}:2` } });
    try {
      // one connection for both circuits
      expect(await until(async () => (await subscribers()) === 1)).toBe(true);
      p1.dispose();
      await sleep(100);
      expect(await subscribers()).toBe(1);
      p2.dispose();
      expect(await until(async () => (await subscribers()) === 0)).toBe(true);
    } finally {
      p1.dispose();
      p2.dispose();
      client.disconnect();
      admin.disconnect();
    }
  });
});
