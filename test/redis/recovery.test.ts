/**
 * How a RedisStore gets back to Redis after an outage: what declares it back, the recheck timer
 * that looks for it while idle (every tick, holding the store weakly), and callers waiting on
 * slots granted locally meanwhile. Outages come from clients that fail on demand (no server to
 * kill), so the outcomes do not hang on a restart's timing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  gcra,
  LimiterUnavailableError,
  type RedisScriptClient,
  RedisStore,
} from '../../src/index.js';
import { makeRate } from '../../src/limiter/rate.js';
import type { LimiterSpec } from '../../src/limiter/store.js';
import { sleep } from '../support/real-time.js';
import { switchableClient, uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

// A first use's NOSCRIPT round trip would eat into the short timeouts below.
const redis = sharedRedis({ preloadScripts: true });

const MAX = Number.MAX_SAFE_INTEGER;
const rate = makeRate(60, 60_000_000, 20);

/** Runs `step` every 20 ms until `done()` or `ms` have passed. */
async function drive(step: () => Promise<unknown>, done: () => boolean, ms: number) {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) {
    await step().catch(() => undefined);
    await sleep(20);
  }
}

describe('what declares Redis back', () => {
  it('recovers even when re-entering one key fails with a reply error (not an outage)', async () => {
    const { client, setDown } = switchableClient(redis());
    const store = new RedisStore(client, {
      prefix: uniquePrefix('recover-wrongtype'),
      onUnavailable: 'local',
      localWorkers: 2,
      recheckMs: 10,
    });
    const bad: LimiterSpec = { key: 'bad', algorithm: 'gcra', rate };
    const good: LimiterSpec = { key: 'good', algorithm: 'gcra', rate };
    let recovered = 0;
    store.onRecovered(() => recovered++);
    setDown(true);
    expect((await store.reserve([bad], [1_000_000], MAX, 0)).granted).toBe(true);
    expect(store.available).toBe(false);
    // Redis is back, but a key the outage served holds another type: a fault of that key only.
    await redis().lpush(store.keyOf(bad), 'not a limiter');
    setDown(false);
    await drive(
      () => store.look(good, 0),
      () => recovered > 0,
      5000,
    );
    expect(recovered).toBe(1);
    expect(store.available).toBe(true);
    // The key at fault fails on its own, as it does outside an outage; the others work.
    await expect(store.reserve([bad], [1_000_000], MAX, 0)).rejects.toThrow(/WRONGTYPE/);
    expect((await store.reserve([good], [1_000_000], MAX, 0)).granted).toBe(true);
  });

  it("is declared only once the store's own scripts answer, not on a PING alone", async () => {
    // A Cluster whose shard for this prefix is down still answers PING on other nodes.
    let scripts = 0;
    const client: RedisScriptClient = {
      evalsha: () => {
        scripts++;
        return Promise.reject(new Error('connect ECONNREFUSED (the shard of this slot)'));
      },
      eval: () => Promise.reject(new Error('connect ECONNREFUSED (the shard of this slot)')),
      ping: () => Promise.resolve('PONG'),
    };
    const store = new RedisStore(client, { prefix: uniquePrefix('recover-ping'), recheckMs: 10 });
    const spec: LimiterSpec = { key: 'k', algorithm: 'gcra', rate };
    let recovered = 0;
    store.onRecovered(() => recovered++);
    await expect(store.reserve([spec], [1_000_000], MAX, 0)).rejects.toThrow(/unavailable/);
    await drive(
      () => store.reserve([spec], [1_000_000], MAX, 0),
      () => scripts >= 6,
      5000,
    );
    expect(scripts).toBeGreaterThanOrEqual(6);
    expect(recovered).toBe(0);
    expect(store.available).toBe(false);
  });
});

describe('the recheck timer', () => {
  // An idle store is back on Redis at most recheckMs (plus a check's round trip) after Redis is.
  // A check that hangs until timeoutMs, as in ioredis's offline queue, must not make the next
  // tick skip its check.
  it('checks on every tick, even after a check that waited for its timeout', async () => {
    let down = false;
    let calls = 0;
    // Down: commands hang, as ioredis holds them while it reconnects.
    const client: RedisScriptClient = {
      evalsha: (...args) => {
        calls++;
        return down ? new Promise(() => {}) : redis().evalsha(...args);
      },
      eval: (...args) => (down ? new Promise(() => {}) : redis().eval(...args)),
      ping: () => redis().ping(),
    };
    const RECHECK_MS = 400;
    const TIMEOUT_MS = 100;
    const store = new RedisStore(client, {
      prefix: uniquePrefix('recheck'),
      timeoutMs: TIMEOUT_MS,
      recheckMs: RECHECK_MS,
    });
    let recoveredAt: number | undefined;
    store.onRecovered(() => {
      recoveredAt = performance.now();
    });
    const limiter = gcra({ key: 'rpm', limit: 50, periodMs: 1000, burst: 5, store });
    expect((await limiter.tryAcquire()).allowed).toBe(true);
    down = true;
    await expect(limiter.tryAcquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
    // The timer's first check is sent, and fails by its timeout.
    const failedCalls = calls;
    while (calls === failedCalls) await sleep(5);
    await sleep(TIMEOUT_MS + 20);
    expect(store.available).toBe(false);
    down = false;
    const backAt = performance.now();
    while (recoveredAt === undefined && performance.now() - backAt < 3000) await sleep(5);
    expect(recoveredAt).toBeDefined();
    // The next tick comes RECHECK_MS - TIMEOUT_MS after the failed check: well inside the bound.
    expect(recoveredAt! - backAt).toBeLessThan(RECHECK_MS + 100);
  });

  // The timer holds its store weakly (docs/redis.md): a store dropped while Redis is down is
  // collected, and its timer then stops probing.
  it('does not keep a dropped store alive, and stops probing once it is collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let probes = 0;
    const refused = () => {
      probes++;
      return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    };
    const client: RedisScriptClient = {
      evalsha: refused,
      eval: refused,
      ping: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
    };
    let ref: WeakRef<RedisStore> | undefined;
    await (async () => {
      const store = new RedisStore(client, { recheckMs: 20, timeoutMs: 50 });
      ref = new WeakRef(store);
      const limiter = gcra({ key: 'rpm', limit: 1, periodMs: 1000, store });
      await limiter.tryAcquire().catch(() => undefined);
      expect(store.available).toBe(false);
    })();
    for (let i = 0; i < 10 && ref?.deref() !== undefined; i++) {
      await sleep(30);
      gc();
    }
    expect(ref?.deref()).toBeUndefined();
    await sleep(60); // a tick that finds the store gone clears the timer
    const after = probes;
    await sleep(200);
    expect(probes).toBe(after);
  });
});

// The keys re-enter Redis pushed by as far as the local schedule ran ahead (those very slots);
// that push is not a provider's hold, so the waiters must not queue again behind it.
describe('re-entry after an outage and callers waiting on local slots', () => {
  it('they start at their local slots, not behind the re-entry', async () => {
    const { client, setDown } = switchableClient(redis());
    const store = new RedisStore(client, {
      prefix: uniquePrefix('reentry'),
      onUnavailable: 'local',
      localWorkers: 1,
      recheckMs: 20,
      timeoutMs: 200,
    });
    let recovered = false;
    store.onRecovered(() => {
      recovered = true;
    });
    // 5 per second: a slot every 200 ms.
    const limiter = gcra({ key: 'rpm', limit: 5, periodMs: 1000, burst: 1, store });
    setDown(true);
    const first = await limiter.acquire(); // served locally, at once
    expect(first.waitedMs).toBe(0);
    const waiting = [limiter.acquire(), limiter.acquire(), limiter.acquire()]; // 200, 400, 600 ms
    await sleep(10);
    setDown(false);
    while (!recovered) await sleep(5);
    const permits = await Promise.all(waiting);
    // Each at its local slot (reserved a few ms after the first call), none queued again.
    permits.forEach((permit, i) => {
      expect(permit.waitedMs).toBeGreaterThan(200 * (i + 1) - 50);
      expect(permit.waitedMs).toBeLessThanOrEqual(200 * (i + 1));
    });
  });
});
