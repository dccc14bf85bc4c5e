/**
 * Property tests of the limiter math (issue #2): conformance, GCRA ≡ token bucket, refunds and
 * charges keep the bound, FIFO, and inspect() agreeing with tryAcquire().
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AlgorithmName, algorithms } from '../../src/limiter/algorithms.js';
import { costUs, makeRate, type Rate } from '../../src/limiter/rate.js';
import type { Grant, LimiterSpec } from '../../src/limiter/store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1500);

/** A rate with a non-integer emission interval most of the time. */
const rateArb = fc
  .record({
    limit: fc.integer({ min: 1, max: 5000 }),
    periodUs: fc.integer({ min: 1, max: 120_000_000 }),
    burstShare: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ limit, periodUs, burstShare }) =>
    makeRate(limit, periodUs, Math.max(1, Math.round(burstShare * Math.min(limit, 2000)))),
  );

const arrivalsArb = fc.array(
  fc.record({
    dtShare: fc.double({ min: 0, max: 1, noNaN: true }),
    costShare: fc.double({ min: 0, max: 1, noNaN: true }),
    maxWaitShare: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
  }),
  { minLength: 1, maxLength: 60 },
);

const algorithmArb = fc.constantFrom<AlgorithmName>('gcra', 'token-bucket');

function cost(rate: Rate, share: number): number {
  return Math.max(1, Math.round(share * rate.burst));
}

/** Arrival gaps spread over a few emission intervals, so both bursts and idle periods occur. */
function gap(rate: Rate, share: number): number {
  return Math.floor(share * share * 3 * rate.capacityUs);
}

interface Admitted {
  readonly startUs: number;
  readonly units: number;
  readonly us: number;
}

/**
 * The bound of issue #2, exactly: for every window [a, b] of start times, the admitted cost in
 * it is at most burst + (b - a)/T. In integer µs: Σ costUs <= capacityUs + (b - a), and in units
 * (no rounding at all): Σ units × period <= (capacityUs + (b - a)) × limit.
 */
function checkConformance(rate: Rate, admitted: readonly Admitted[], slackUs = 0): void {
  const sorted = [...admitted].sort((x, y) => x.startUs - y.startUs);
  for (let i = 0; i < sorted.length; i++) {
    let us = 0;
    let units = 0n;
    for (let j = i; j < sorted.length; j++) {
      us += sorted[j]!.us;
      units += BigInt(sorted[j]!.units);
      const window = sorted[j]!.startUs - sorted[i]!.startUs;
      expect(us).toBeLessThanOrEqual(rate.capacityUs + window + slackUs);
      expect(units * BigInt(rate.periodUs)).toBeLessThanOrEqual(
        BigInt(rate.capacityUs + window + slackUs) * BigInt(rate.limit),
      );
    }
  }
}

describe('limiter math (property tests)', () => {
  it('conformance: tryAcquire and reservations never admit beyond burst + w/T', async () => {
    await fc.assert(
      fc.asyncProperty(rateArb, algorithmArb, arrivalsArb, async (rate, algorithm, arrivals) => {
        const store = new MemoryStore();
        const spec: LimiterSpec = { key: 'k', algorithm, rate };
        let now = 1_000_000;
        const admitted: Admitted[] = [];
        for (const a of arrivals) {
          now += gap(rate, a.dtShare);
          const units = cost(rate, a.costShare);
          const us = costUs(rate, units);
          const maxWaitUs = Math.floor(a.maxWaitShare * 2 * rate.capacityUs);
          const outcome = store.reserveSync([spec], [us], maxWaitUs, now);
          if (outcome.granted) admitted.push({ startUs: now + outcome.waitUs, units, us });
        }
        checkConformance(rate, admitted);
      }),
      { numRuns: RUNS },
    );
  });

  it('GCRA and token bucket with equal parameters decide the same on every operation', () => {
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('reserve' as const), a: arrivalsArb.map((x) => x[0]!) }),
      fc.record({
        kind: fc.constant('refund' as const),
        pick: fc.nat(),
        share: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      fc.record({
        kind: fc.constant('charge' as const),
        share: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      fc.record({
        kind: fc.constant('hold' as const),
        share: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    );
    fc.assert(
      fc.property(rateArb, fc.array(opArb, { minLength: 1, maxLength: 80 }), (rate, ops) => {
        const g = algorithms.gcra;
        const t = algorithms['token-bucket'];
        let gs = g.initial;
        let ts = t.initial;
        let now = 5_000_000;
        const grants: Array<{ seq: number; us: number }> = [];
        const cap = rate.capacityUs;
        for (const op of ops) {
          if (op.kind === 'reserve') {
            now += gap(rate, op.a.dtShare);
            const us = costUs(rate, cost(rate, op.a.costShare));
            const gw = g.wait(gs, now, us, cap);
            expect(t.wait(ts, now, us, cap)).toBe(gw);
            if (gw <= Math.floor(op.a.maxWaitShare * 2 * cap)) {
              gs = g.grant(gs, now, now + gw, us, cap);
              ts = t.grant(ts, now, now + gw, us, cap);
              grants.push({ seq: g.seq(gs), us });
            }
          } else if (op.kind === 'refund' && grants.length > 0) {
            const grant = grants[op.pick % grants.length]!;
            const r = Math.floor(op.share * grant.us);
            const undo = op.share === 1;
            gs = g.refund(gs, now, r, grant.seq, cap, undo);
            ts = t.refund(ts, now, r, grant.seq, cap, undo);
          } else if (op.kind === 'charge') {
            const x = Math.floor(op.share * cap);
            gs = g.charge(gs, now, x, cap);
            ts = t.charge(ts, now, x, cap);
          } else if (op.kind === 'hold') {
            const until = now + Math.floor(op.share * 2 * cap);
            gs = g.hold(gs, now, until, cap);
            ts = t.hold(ts, now, until, cap);
          }
          expect(t.freeUs(ts, now, cap)).toBe(g.freeUs(gs, now, cap));
          expect(t.fifoUs(ts, now)).toBe(g.fifoUs(gs, now));
          expect(t.seq(ts)).toBe(g.seq(gs));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('any interleaving of acquire / cancel / settle / abort keeps the bound at settled cost, and FIFO', async () => {
    // Refunds to grants other than the latest, which the ledger let through: the property must
    // exercise them, or it proves nothing about them.
    let earlierRefundsApplied = 0;
    const refund = async (
      store: MemoryStore,
      spec: LimiterSpec,
      grant: Grant,
      us: number,
      now: number,
      latest: Grant,
    ) => {
      const before = (await store.look(spec, now)).freeUs;
      await store.refund(spec, grant, us, now);
      const after = (await store.look(spec, now)).freeUs;
      if (after > before && grant !== latest) earlierRefundsApplied++;
    };
    const opArb = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('acquire' as const),
          a: arrivalsArb.map((x) => x[0]!),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('settle' as const),
          pick: fc.nat(),
          share: fc.double({ min: 0, max: 1.5, noNaN: true }),
        }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        rateArb,
        algorithmArb,
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        fc.boolean(),
        async (rate, algorithm, ops, allowCharges, busy) => {
          const store = new MemoryStore();
          const spec: LimiterSpec = { key: 'k', algorithm, rate };
          let now = 1_000_000;
          interface Call {
            startUs: number;
            reservedUs: number;
            units: number;
            grant: Grant;
            settledUs: number;
            settledUnits: number;
            open: boolean;
            cancelledBeforeStart: boolean;
          }
          const calls: Call[] = [];
          let charged = 0;
          for (const op of ops) {
            if (op.kind === 'acquire') {
              // Busy traffic keeps many calls in flight, so settles land under later calls.
              now += busy
                ? Math.floor(op.a.dtShare ** 3 * rate.capacityUs)
                : gap(rate, op.a.dtShare);
              const units = busy
                ? Math.max(1, Math.round(op.a.costShare ** 3 * rate.burst))
                : cost(rate, op.a.costShare);
              const us = costUs(rate, units);
              const outcome = store.reserveSync([spec], [us], Number.MAX_SAFE_INTEGER, now);
              if (!outcome.granted) throw new Error('unbounded wait refused');
              calls.push({
                startUs: now + outcome.waitUs,
                reservedUs: us,
                units,
                grant: outcome.grants[0]!,
                settledUs: us,
                settledUnits: units,
                open: true,
                cancelledBeforeStart: false,
              });
            } else if (calls.length > 0) {
              const call = calls[op.pick % calls.length]!;
              if (!call.open) continue;
              call.open = false;
              if (op.kind === 'cancel') {
                // A cancel before the start is an abort: the call never runs. After the start it
                // is a call that cost nothing.
                if (call.startUs > now) call.cancelledBeforeStart = true;
                call.settledUs = 0;
                call.settledUnits = 0;
                await refund(store, spec, call.grant, call.reservedUs, now, calls.at(-1)!.grant);
              } else {
                if (call.startUs > now) {
                  call.open = true; // settle comes after the call ran
                  continue;
                }
                const share = allowCharges ? op.share : Math.min(1, op.share);
                const units = Math.round(share * call.units);
                const us = costUs(rate, units);
                call.settledUnits = units;
                call.settledUs = us;
                if (us < call.reservedUs)
                  await refund(
                    store,
                    spec,
                    call.grant,
                    call.reservedUs - us,
                    now,
                    calls.at(-1)!.grant,
                  );
                if (us > call.reservedUs) {
                  charged += us - call.reservedUs;
                  await store.charge(spec, us - call.reservedUs, now);
                }
              }
            }
          }
          const ran = calls.filter((c) => !c.cancelledBeforeStart);
          // FIFO: among calls that ran, start times follow the order of their grants.
          for (let i = 1; i < ran.length; i++)
            expect(ran[i]!.startUs).toBeGreaterThanOrEqual(ran[i - 1]!.startUs);
          checkConformance(
            rate,
            ran.map((c) => ({ startUs: c.startUs, units: c.settledUnits, us: c.settledUs })),
            charged,
          );
        },
      ),
      { numRuns: RUNS },
    );
    expect(earlierRefundsApplied).toBeGreaterThan(0);
  });

  it('calls settled out of order under load: refunds to earlier grants keep the bound and FIFO', async () => {
    // Many small calls in flight on a deep bucket, settled (or cancelled) in random order while
    // more arrive: the case the refund ledger exists for.
    let applied = 0;
    let offered = 0;
    await fc.assert(
      fc.asyncProperty(
        rateArb,
        algorithmArb,
        fc.array(
          fc.record({
            dt: fc.double({ min: 0, max: 1, noNaN: true }),
            costShare: fc.double({ min: 0, max: 1, noNaN: true }),
            settleShare: fc.double({ min: 0, max: 1, noNaN: true }),
            settleOrder: fc.nat(),
            cancel: fc.boolean(),
          }),
          { minLength: 2, maxLength: 40 },
        ),
        async (rate, algorithm, arrivals) => {
          const store = new MemoryStore();
          const spec: LimiterSpec = { key: 'k', algorithm, rate };
          let now = 1_000_000;
          const open: Array<{
            startUs: number;
            us: number;
            units: number;
            grant: Grant;
            cancel: boolean;
            settleShare: number;
          }> = [];
          const done: Admitted[] = [];
          const settleOne = async (pick: number) => {
            const startedIdx = open
              .map((c, i) => [c, i] as const)
              .filter(([c]) => c.startUs <= now);
            if (startedIdx.length === 0) return;
            const [call, i] = startedIdx[pick % startedIdx.length]!;
            open.splice(i, 1);
            const units = call.cancel ? 0 : Math.floor(call.settleShare * call.units);
            const us = costUs(rate, units);
            const before = (await store.look(spec, now)).freeUs;
            offered++;
            await store.refund(spec, call.grant, call.us - us, now);
            if ((await store.look(spec, now)).freeUs > before) applied++;
            done.push({ startUs: call.startUs, units, us });
          };
          for (const a of arrivals) {
            now += Math.floor(a.dt ** 2 * (rate.capacityUs / 4));
            const units = Math.max(1, Math.round(a.costShare ** 2 * rate.burst * 0.25));
            const us = costUs(rate, units);
            const outcome = store.reserveSync([spec], [us], Number.MAX_SAFE_INTEGER, now);
            if (!outcome.granted) throw new Error('unbounded wait refused');
            const startUs = now + outcome.waitUs;
            for (const c of open) expect(startUs).toBeGreaterThanOrEqual(c.startUs); // FIFO
            open.push({
              startUs,
              us,
              units,
              grant: outcome.grants[0]!,
              cancel: a.cancel,
              settleShare: a.settleShare,
            });
            await settleOne(a.settleOrder);
          }
          for (const c of open) done.push({ startUs: c.startUs, units: c.units, us: c.us });
          checkConformance(rate, done);
        },
      ),
      { numRuns: RUNS },
    );
    // The property must exercise refunds to grants that are not the latest, or it proves little.
    expect(applied).toBeGreaterThan(offered / 4);
  });

  it('inspect figures agree with what the next tryAcquire decides', async () => {
    await fc.assert(
      fc.asyncProperty(
        rateArb,
        algorithmArb,
        arrivalsArb,
        fc.nat(),
        async (rate, algorithm, arrivals, probeDt) => {
          const spec: LimiterSpec = { key: 'k', algorithm, rate };
          let end = 1_000_000;
          const build = () => {
            const store = new MemoryStore();
            let now = 1_000_000;
            for (const a of arrivals) {
              now += gap(rate, a.dtShare);
              const us = costUs(rate, cost(rate, a.costShare));
              store.reserveSync([spec], [us], Math.floor(a.maxWaitShare * rate.capacityUs), now);
            }
            end = now + (probeDt % (rate.capacityUs + 1));
            return store;
          };
          const { freeUs } = await build().look(spec, end);
          const available = freeUs <= 0 ? 0 : Math.floor((freeUs * rate.limit) / rate.periodUs);
          const retryAfterUs = Math.max(0, costUs(rate, 1) - freeUs);
          // `available` units are admitted at once, one more is not (within burst) ...
          if (available >= 1 && available <= rate.burst) {
            expect(build().reserveSync([spec], [costUs(rate, available)], 0, end).granted).toBe(
              true,
            );
          }
          if (available + 1 <= rate.burst) {
            expect(build().reserveSync([spec], [costUs(rate, available + 1)], 0, end).granted).toBe(
              false,
            );
          }
          // ... and retryAfter is exactly the wait the next single unit is told.
          const probe = build().reserveSync([spec], [costUs(rate, 1)], 0, end);
          expect(probe.granted ? 0 : probe.waitUs).toBe(retryAfterUs);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
