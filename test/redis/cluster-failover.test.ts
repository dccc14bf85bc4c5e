/**
 * A master of a real Redis Cluster (3 masters, 1 replica each) SIGKILLed under load: the cluster
 * promotes its replica, and the RedisStore must get over it by itself, in 'fail-closed' and
 * 'local' mode, without admitting more than the GCRA allows.
 */
import { Cluster } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  gcra,
  LimiterUnavailableError,
  limiterGroup,
  RateLimitExceededError,
  RedisStore,
  type RedisStoreOptions,
  type RedisUnavailableEvent,
  tokenBucket,
} from '../../src/index.js';
import type { LimiterGroup } from '../../src/limiter/limiter-group.js';
import { scriptSha } from '../../src/redis/eval-script.js';
import { lookScript, reserveScript } from '../../src/stores/redis/lua/scripts.js';
import { sleep } from '../support/real-time.js';
import { uniquePrefix } from '../support/redis.js';
import {
  type ClusterNode,
  type RedisCluster,
  startRedisCluster,
} from '../support/redis-cluster.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const measured: Record<string, Record<string, number>> = {};
afterAll(() => {
  console.info('cluster failover figures (ms after the kill):', JSON.stringify(measured));
});

/** The binding limit: 5 calls/s, burst 20, so a burst takes 4 s to refill (longer than a failover). */
const RATE_PER_MS = 5 / 1000;
const BURST = 20;
/** Calls fired every tick: 2 tryAcquire, 2 acquire. */
const TICK_MS = 20;
/** An acquire waits at most this long for its slot. */
const MAX_WAIT_MS = 400;
/**
 * A call not settled by then counts as hung. It should settle within the store's timeout (1 s)
 * plus MAX_WAIT_MS plus a settle (another timeout at worst).
 */
const DEADLINE_MS = 10_000;

interface Setup {
  cluster: RedisCluster;
  store: RedisStore;
  limits: LimiterGroup;
  slot: number;
  master: ClusterNode;
  replica: ClusterNode;
}

async function setup(options: RedisStoreOptions): Promise<Setup> {
  // A 1500 ms node timeout: the replica takes over about 3 s after its master dies.
  const cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    nodeTimeoutMs: 1500,
  });
  cleanups.push(() => cluster.stop());
  // ioredis's defaults, spelled out because the failover goes through them. Nothing polls the
  // topology (ioredis 5.11 applies no `slotsRefreshInterval` unless given one); errors drive it.
  // Until the dead master is flagged failing, the other nodes redirect (MOVED) to it and its
  // connection is refused: "Connection is closed", retried after `retryDelayOnFailover`, the
  // slot map refreshed first. Between the flag and the promotion every node answers CLUSTERDOWN,
  // retried after `retryDelayOnClusterDown`. Then a MOVED names the promoted replica, and
  // ioredis follows it and refreshes its map. A command gives up after 16 redirections.
  const client = new Cluster([...cluster.nodes], {
    scaleReads: 'master', // the scripts write: only a master can run them
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
  });
  client.on('error', () => {}); // the outage is the point of the test
  cleanups.push(async () => client.disconnect());
  const prefix = uniquePrefix('failover');
  const slot = (await client.cluster('KEYSLOT', `{${prefix}}`)) as number;
  const shard = await cluster.shardOf(slot);
  expect(shard.replicas).toHaveLength(1);
  const store = new RedisStore(client, { prefix, recheckMs: 250, ...options });
  const rps = gcra({
    key: 'rps',
    limit: RATE_PER_MS * 1000,
    periodMs: 1000,
    burst: BURST,
    store,
  });
  const tokens = tokenBucket({ key: 'tokens', capacity: 4000, refillPerSecond: 1000, store });
  const limits = limiterGroup([rps, tokens]);
  // The store's keys live in the slot we kill (the prefix is their hash tag).
  for (const limiter of limits.limiters) {
    expect(await client.cluster('KEYSLOT', store.keyOf(limiter.spec))).toBe(slot);
  }
  return { cluster, store, limits, slot, master: shard.master, replica: shard.replicas[0]! };
}

type Outcome = 'admitted' | 'refused' | 'unavailable' | 'hung' | 'unexpected';

interface Call {
  readonly sentAt: number;
  doneAt: number;
  outcome: Outcome;
  error?: unknown;
}

/**
 * Load on `limits` until `stop()`: every TICK_MS, two tryAcquire and two acquire (which settle
 * their permit with fewer tokens, a refund). Every call ends as an outcome by DEADLINE_MS.
 */
function load(limits: LimiterGroup): { calls: Call[]; stop(): Promise<void> } {
  const calls: Call[] = [];
  const pending: Promise<void>[] = [];
  const track = (attempt: () => Promise<Outcome>) => {
    const call: Call = { sentAt: performance.now(), doneAt: Number.NaN, outcome: 'hung' };
    calls.push(call);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve('hung'), DEADLINE_MS);
    });
    const settled = attempt().catch((error: unknown): Outcome => {
      call.error = error;
      if (error instanceof LimiterUnavailableError) return 'unavailable';
      if (error instanceof RateLimitExceededError) return 'refused';
      return 'unexpected';
    });
    pending.push(
      Promise.race([settled, deadline]).then((outcome) => {
        clearTimeout(timer);
        call.outcome = outcome;
        call.doneAt = performance.now();
      }),
    );
  };
  const tick = () => {
    for (let i = 0; i < 2; i++) {
      track(async () => ((await limits.tryAcquire([1, 100])).allowed ? 'admitted' : 'refused'));
      track(async () => {
        const permit = await limits.acquire([1, 100], { maxWaitMs: MAX_WAIT_MS });
        try {
          await permit.settle([1, 80]);
        } catch (error) {
          // Admitted all the same; the refund is lost, which can only under-admit.
          if (!(error instanceof LimiterUnavailableError)) throw error;
        }
        return 'admitted';
      });
    }
  };
  const timer = setInterval(tick, TICK_MS);
  tick();
  return {
    calls,
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}

/**
 * The GCRA's bound: however full the limiter starts, at most BURST + rate * W units start in any
 * window of W ms. An admitted call started (server side) between its send and its return, so the
 * window from the first send to the last return of `admitted` contains every start.
 */
function gcraBound(admitted: readonly Call[]): number {
  if (admitted.length === 0) return BURST;
  const from = Math.min(...admitted.map((c) => c.sentAt));
  const to = Math.max(...admitted.map((c) => c.doneAt));
  return BURST + Math.floor((to - from) * RATE_PER_MS);
}

function count(calls: readonly Call[], outcome: Outcome): number {
  return calls.filter((c) => c.outcome === outcome).length;
}

/** Resolves once `check()` is true (polled every 50 ms); rejects after `ms`. */
async function eventually(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('RedisStore through a Redis Cluster failover', () => {
  it('fail-closed: every call settles in time; acquires resume on the promoted replica, within the GCRA bound', {
    timeout: 50_000,
  }, async () => {
    const { cluster, store, limits, slot, master, replica } = await setup({});
    let recoveredAt = Number.NaN;
    store.onRecovered(() => {
      recoveredAt = performance.now();
    });
    // The old master learnt the scripts on first use; its replica never did: Redis 7
    // replicates what a script writes, not the script.
    expect((await limits.tryAcquire([1, 100])).allowed).toBe(true);
    await limits.inspect(); // the look script, which the store's recovery check runs
    const shas = [scriptSha(reserveScript), scriptSha(lookScript)];
    expect(await cluster.command(master, 'SCRIPT', 'EXISTS', ...shas)).toEqual([1, 1]);
    expect(await cluster.command(replica, 'SCRIPT', 'EXISTS', ...shas)).toEqual([0, 0]);

    const run = load(limits);
    await sleep(1500);
    const killedAt = performance.now();
    const killed = await cluster.killMasterOf(slot);
    expect(killed).toEqual(master);
    const promoted = await cluster.waitForFailover(slot, killed);
    const promotedAt = performance.now();
    expect(promoted).toEqual(replica);
    // No manual action: the store's periodic check finds the new master by itself.
    await eventually('the store to recover', () => store.available && recoveredAt > killedAt);
    await sleep(2500);
    await run.stop();
    const { calls } = run;

    // Every call ended as a decision or as LimiterUnavailableError, none hung.
    expect(calls.filter((c) => c.outcome === 'hung' || c.outcome === 'unexpected')).toEqual([]);
    expect(Math.max(...calls.map((c) => c.doneAt - c.sentAt))).toBeLessThan(DEADLINE_MS);
    const unavailable = calls.filter((c) => c.outcome === 'unavailable');
    expect(unavailable.length).toBeGreaterThan(0);
    // ...and only the failover made it unavailable.
    expect(Math.min(...unavailable.map((c) => c.doneAt))).toBeGreaterThan(killedAt);
    // After recovery the store stays on Redis: nothing sent since is refused as unavailable,
    // and calls are admitted again.
    const sinceRecovery = calls.filter((c) => c.sentAt >= recoveredAt);
    expect(count(sinceRecovery, 'unavailable')).toBe(0);
    expect(count(sinceRecovery, 'admitted')).toBeGreaterThan(0);
    // The new master did not know the scripts: the store's EVALSHA got NOSCRIPT and its EVAL
    // fallback loaded them there.
    expect(await cluster.command(promoted, 'SCRIPT', 'EXISTS', ...shas)).toEqual([1, 1]);

    // The budget. Replication is asynchronous: the promoted replica may have missed the old
    // master's last writes, and then grants their units again. Losing writes only takes the key
    // back to an earlier state, and no state admits more than a fresh key (a full burst). So the
    // old master admitted at most BURST + rate * (its part of the window), the new one at most
    // BURST + rate * (its part): the whole window at most one burst over the GCRA bound. From the
    // recovery on, the new master decides alone and the bound holds exactly, whatever state it
    // inherited. (On loopback the replica is less than a call behind: the excess measured is 0.)
    const admitted = calls.filter((c) => c.outcome === 'admitted');
    const admittedSinceRecovery = sinceRecovery.filter((c) => c.outcome === 'admitted');
    expect(admittedSinceRecovery.length).toBeLessThanOrEqual(gcraBound(admittedSinceRecovery));
    expect(admitted.length).toBeLessThanOrEqual(gcraBound(admitted) + BURST);

    const afterKill = admitted.filter((c) => c.sentAt > killedAt);
    measured['fail-closed'] = {
      promoted: Math.round(promotedAt - killedAt),
      recovered: Math.round(recoveredAt - killedAt),
      firstAdmitted: Math.round(Math.min(...afterKill.map((c) => c.doneAt)) - killedAt),
      admitted: admitted.length,
      strictBound: gcraBound(admitted),
      excess: admitted.length - gcraBound(admitted),
      unavailable: unavailable.length,
    };
  });

  it('local: calls are still admitted during the failover, at the local rate; onUnavailable, then onRecovered', {
    timeout: 50_000,
  }, async () => {
    const { cluster, store, limits, slot } = await setup({
      onUnavailable: 'local',
      localWorkers: 1,
    });
    const events: Array<RedisUnavailableEvent & { at: number }> = [];
    store.onUnavailable((event) => events.push({ ...event, at: performance.now() }));
    const recoveries: number[] = [];
    store.onRecovered(() => recoveries.push(performance.now()));
    expect((await limits.tryAcquire([1, 100])).allowed).toBe(true);

    const run = load(limits);
    await sleep(1500);
    const killedAt = performance.now();
    const killed = await cluster.killMasterOf(slot);
    await cluster.waitForFailover(slot, killed);
    const promotedAt = performance.now();
    await eventually('the store to recover', () => recoveries.length > 0 && store.available);
    await sleep(2500);
    await run.stop();
    const { calls } = run;

    // Nothing failed: every call was decided, by Redis or by the local share.
    expect(calls.filter((c) => c.outcome !== 'admitted' && c.outcome !== 'refused')).toEqual([]);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.mode === 'local')).toBe(true);
    expect(recoveries).toHaveLength(1);
    const downAt = events[0]!.at;
    const recoveredAt = recoveries[0]!;
    expect(downAt).toBeGreaterThan(killedAt);
    expect(recoveredAt).toBeGreaterThan(downAt);
    // Every event was emitted by the outage, none after the recovery.
    expect(events.every((e) => e.at <= recoveredAt)).toBe(true);

    // Admitted during the failover, by the local share (localWorkers 1: the whole rate, and a
    // full burst to start with), within the GCRA bound of that window.
    const local = calls.filter(
      (c) => c.sentAt >= downAt && c.doneAt <= recoveredAt && c.outcome === 'admitted',
    );
    expect(local.length).toBeGreaterThan(0);
    expect(local.length).toBeLessThanOrEqual(gcraBound(local));
    // Back on Redis (the promoted replica) within the bound too.
    const sinceRecovery = calls.filter((c) => c.sentAt >= recoveredAt);
    const admittedSince = sinceRecovery.filter((c) => c.outcome === 'admitted');
    expect(admittedSince.length).toBeGreaterThan(0);
    expect(admittedSince.length).toBeLessThanOrEqual(gcraBound(admittedSince));

    measured.local = {
      promoted: Math.round(promotedAt - killedAt),
      local: Math.round(downAt - killedAt),
      recovered: Math.round(recoveredAt - killedAt),
      admittedLocally: local.length,
      events: events.length,
    };
  });
});
