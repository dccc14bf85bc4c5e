import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../support/real-time.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { forkWorker, type TestWorker, type WorkerMessage } from '../support/workers.js';

const WORKER = new URL('../fixtures/circuit-worker.ts', import.meta.url);
const HALF_OPEN_MS = 1000;
const PROBE_LEASE_MS = 2000;

interface CallReply extends WorkerMessage {
  outcome: 'ok' | 'broken' | 'error';
  invoked: boolean;
}

describe('shared circuit: several real worker processes on one Redis key', () => {
  let redis: Redis;
  let key: string;
  let workers: TestWorker[] = [];
  const measured: Record<string, number[]> = { openLagMs: [], closeLagMs: [] };

  beforeAll(async () => {
    const url = await redisUrl();
    redis = new Redis(url);
    key = `${uniquePrefix('circuit')}:anthropic`;
    workers = await Promise.all(
      [0, 1, 2].map(() =>
        forkWorker(WORKER, {
          REDIS_URL: url,
          CIRCUIT_KEY: key,
          HALF_OPEN_MS: String(HALF_OPEN_MS),
          PROBE_LEASE_MS: String(PROBE_LEASE_MS),
        }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.del(key);
    redis.disconnect();
    console.info('shared circuit lags (ms):', JSON.stringify(measured));
  });

  const stateEvent =
    (state: string, after = 0) =>
    (m: WorkerMessage) =>
      m.type === 'state' && m.state === state && (m.at as number) >= after;

  it('an open seen by one worker is seen by all within a second, and they fail fast', async () => {
    const [w0, w1, w2] = workers as [TestWorker, TestWorker, TestWorker];
    const reply = await w0.request<{ snapshot: { state: string } } & WorkerMessage>({
      cmd: 'fail',
      n: 3,
    });
    expect(reply.snapshot.state).toBe('open');
    const opened = await w0.waitForEvent(stateEvent('open'));
    for (const w of [w1, w2]) {
      const seen = await w.waitForEvent(stateEvent('open'), 5000);
      const lag = (seen.at as number) - (opened.at as number);
      measured.openLagMs?.push(lag);
      expect(lag).toBeLessThan(1000);
      // the failure recorded by w0 is visible, scrubbed, in every worker's snapshot
      expect(seen.snapshot).toMatchObject({
        lastFailure: { name: 'OverloadedError', status: 529 },
      });
    }
    const replies = await Promise.all(workers.map((w) => w.request<CallReply>({ cmd: 'call' })));
    for (const r of replies) expect(r).toMatchObject({ outcome: 'broken', invoked: false });
  });

  it('only one worker sends the half-open probe; a failed probe re-opens, a good one closes for all', async () => {
    await sleep(HALF_OPEN_MS + 100);
    // All three try at once: exactly one probe reaches the provider, and it fails.
    let replies = await Promise.all(
      workers.map((w) => w.request<CallReply>({ cmd: 'call', holdMs: 400, outcome: 'fail' })),
    );
    expect(replies.filter((r) => r.invoked)).toHaveLength(1);
    expect(replies.filter((r) => r.outcome === 'broken')).toHaveLength(2);
    const reopenedAt = Date.now();
    // Still open for everyone: nobody calls.
    replies = await Promise.all(workers.map((w) => w.request<CallReply>({ cmd: 'call' })));
    expect(replies.every((r) => !r.invoked && r.outcome === 'broken')).toBe(true);

    await sleep(HALF_OPEN_MS + 100);
    replies = await Promise.all(
      workers.map((w) => w.request<CallReply>({ cmd: 'call', holdMs: 300, outcome: 'ok' })),
    );
    expect(replies.filter((r) => r.invoked)).toHaveLength(1);
    expect(replies.find((r) => r.invoked)?.outcome).toBe('ok');
    const closedAt = Date.now();
    for (const w of workers) {
      const seen = await w.waitForEvent(stateEvent('closed', reopenedAt), 5000);
      measured.closeLagMs?.push(Math.max(0, (seen.at as number) - closedAt));
    }
    replies = await Promise.all(
      workers.map((w) => w.request<CallReply>({ cmd: 'call', outcome: 'ok' })),
    );
    expect(replies.every((r) => r.invoked && r.outcome === 'ok')).toBe(true);
  });

  it('a SIGKILLed prober does not hold the circuit: its probe lease expires', async () => {
    const [w0, w1, w2] = workers as [TestWorker, TestWorker, TestWorker];
    const before = Date.now();
    await w0.request({ cmd: 'fail', n: 3 });
    for (const w of [w1, w2]) await w.waitForEvent(stateEvent('open', before), 5000);
    await sleep(HALF_OPEN_MS + 100);
    // never answered: the worker dies mid-probe
    w1.request<CallReply>({ cmd: 'call', holdMs: 60_000 }, 30_000).catch(() => undefined);
    await w1.waitForEvent((m) => m.type === 'probe-started' && (m.at as number) >= before, 5000);
    const killedAt = Date.now();
    w1.child.kill('SIGKILL');
    // While the dead worker's probe lease lasts, nobody else may probe.
    const early = await w2.request<CallReply>({ cmd: 'call', outcome: 'ok' });
    expect(early).toMatchObject({ invoked: false, outcome: 'broken' });
    expect(Date.now() - killedAt).toBeLessThan(PROBE_LEASE_MS);
    await sleep(PROBE_LEASE_MS + 200);
    const late = await w2.request<CallReply>({ cmd: 'call', outcome: 'ok' });
    expect(late).toMatchObject({ invoked: true, outcome: 'ok' });
    await w0.waitForEvent(stateEvent('closed', killedAt), 5000);
    workers = [w0, w2];
  });
});

describe('shared circuit when Redis is unreachable', () => {
  it('each worker falls back to its own breaker', async () => {
    const { connectForOutage, startRedisServer } = await import('../support/redis.js');
    const { circuitBreakerPolicy } = await import('../../src/circuit/circuit-breaker-policy.js');
    const server = await startRedisServer();
    const client = await connectForOutage(server);
    const policy = circuitBreakerPolicy({
      consecutiveFailures: 2,
      shared: { redis: client, key: 'circuit', syncIntervalMs: 50 },
    });
    server.kill();
    await sleep(100);
    const outage = Object.assign(new Error('502 Bad Gateway'), { status: 502 });
    await expect(policy.execute(() => 'still works')).resolves.toBe('still works');
    for (let i = 0; i < 2; i++) await policy.execute(() => Promise.reject(outage)).catch(() => {});
    expect(policy.inspect().state).toBe('open');
    await expect(policy.execute(() => 'x')).rejects.toThrow(/circuit/i);
    policy.dispose();
    client.disconnect();
  });
});
