/**
 * A worker SIGKILLed while its streams run and its other calls wait in the budget's queue, among
 * three sharing a Redis budget and a Redis bulkhead (a cluster-wide semaphore with a 3 s lease):
 * the other workers go on sending, and the dead worker's bulkhead leases expire within their
 * lease. Its waiting tickets stay in the queue (counted when the survivors stop) and slow the
 * survivors while they keep the budget busy: a known defect, printed here and held by the
 * failing test on branch faults-failing-dead-tickets, so the bound below is only "they go on".
 */
import type { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { uniquePrefix } from '../support/redis.js';
import {
  countIn,
  endings,
  type FaultWorker,
  faultBench,
  faultConfig,
  QUICK_ANSWERS,
  sleep,
  withWorkers,
} from './fault-run.js';

/** Tight enough that callers wait in the budget's queue (the victim's tickets among them). */
const RPS = 4;
const LEASE_MS = 3000;

// Streams of 60-120 tokens at 15 ms a token: 1-2 s each.
const bench = faultBench({
  ...QUICK_ANSWERS,
  latencyMs: { firstTokenMs: 40, perTokenMs: 15 },
  outputTokens: { min: 60, max: 120 },
});

/** Lease id -> expiry (Redis ms) of the semaphore, and Redis's clock. */
async function leases(
  redis: Redis,
  key: string,
): Promise<{ now: number; byId: Map<string, number> }> {
  const replies = (await redis.multi().time().zrange(key, '0', '-1', 'WITHSCORES').exec()) as [
    [null, [string, string]],
    [null, string[]],
  ];
  const [[, time], [, flat]] = replies;
  const byId = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) byId.set(flat[i]!, Number(flat[i + 1]));
  return { now: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000), byId };
}

it('a worker SIGKILLed mid-stream: its leases expire within the lease, the others go on', async () => {
  const semaphoreKey = `${uniquePrefix('faults-sigkill')}:bulkhead`;
  const config = faultConfig(bench(), 'faults-sigkill', {
    rps: RPS,
    maxTokens: 256,
    stream: true,
    sharedBulkhead: { key: semaphoreKey, maxConcurrent: 8, leaseMs: LEASE_MS },
  });
  await withWorkers(3, config, async (workers, admin) => {
    const [victim, ...survivors] = workers as [FaultWorker, ...FaultWorker[]];
    for (const w of workers) w.go();
    await sleep(2500);
    // Kill it mid-stream: once it reads a stream (within 5 s more).
    let victimStreams = 0;
    for (let i = 0; i < 100 && victimStreams === 0; i++) {
      victimStreams = (await victim.status()).streaming;
      if (victimStreams === 0) await sleep(50);
    }
    const atKill = await leases(admin, semaphoreKey);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Follow the leases held at the kill: renewed (a survivor's), released before their expiry
    // (a survivor's stream ended), or left to expire (the victim's).
    const renewed = new Set<string>();
    const gone = new Map<string, { at: number; expired: boolean }>();
    const deadline = Date.now() + LEASE_MS + 2000;
    while (Date.now() < deadline && gone.size + renewed.size < atKill.byId.size) {
      const now = await leases(admin, semaphoreKey);
      for (const [id, expiry] of atKill.byId) {
        if (renewed.has(id) || gone.has(id)) continue;
        const current = now.byId.get(id);
        if (current === undefined) {
          gone.set(id, { at: Date.now() - killedAt, expired: now.now >= expiry });
        } else if (current > expiry) renewed.add(id);
      }
      await sleep(50);
    }
    const expired = [...gone.values()].filter((g) => g.expired);
    const leaseBackMs = Math.max(0, ...expired.map((g) => g.at));
    // Survivors keep running until 6 s after the kill, then stop (their own tickets cancelled).
    await sleep(Math.max(0, killedAt + 6000 - Date.now()));
    const reports = await Promise.all(survivors.map((w) => w.stop()));
    const stoppedAt = Date.now();
    const sentAfterKill = reports.reduce(
      (a, r) => a + countIn(r.sentAt, killedAt + 1000, killedAt + 6000),
      0,
    );
    const sentBeforeKill = reports.reduce(
      (a, r) => a + countIn(r.sentAt, killedAt - 2000, killedAt),
      0,
    );
    // The queue as Redis holds it once the survivors cancelled theirs: the victim's tickets.
    const limits = await survivors[0]!.inspect();
    const queuedAtStop = Math.max(...limits.map((l) => l.queued));
    const { pending, rejected, untyped } = endings(reports);
    console.log(
      `[faults] worker SIGKILLed mid-stream (3 workers, ${RPS}/s, bulkhead 8 leases of ${LEASE_MS} ms): ` +
        `victim's streams at the kill ${victimStreams}, leases at the kill ${atKill.byId.size}, expired (the victim's) ${expired.length}, last back ${leaseBackMs} ms after the kill; ` +
        `survivors sent ${sentBeforeKill} in the 2 s before the kill, ${sentAfterKill} in the 5 s after its first second (budget ${RPS * 5}); ` +
        `the victim's tickets still queued when the survivors stopped (${stoppedAt - killedAt} ms after the kill) ${queuedAtStop}; ` +
        `survivors rejected ${JSON.stringify(rejected)}, pending ${pending}`,
    );
    expect(victimStreams).toBeGreaterThan(0);
    expect(atKill.byId.size).toBeGreaterThan(0);
    expect(expired.length).toBeGreaterThan(0);
    expect(leaseBackMs).toBeLessThanOrEqual(LEASE_MS + 1000);
    // They go on (a quarter of the budget at least; see the defect above for why not all of it).
    expect(sentAfterKill).toBeGreaterThanOrEqual(RPS * 5 * 0.25);
    expect(pending).toBe(0);
    expect(untyped).toEqual([]);
  });
});
