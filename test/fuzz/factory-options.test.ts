/**
 * Random option objects for every public factory: each one is built, or refused with one of the
 * library's typed errors (InvalidConfigError, UnknownOptionError...); what is built then runs a
 * call that completes or rejects typed, within a bound. Never a TypeError, a thrown non-Error, a
 * NaN that slips through, or a hang.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Budget,
  bulkheadPolicy,
  circuitBreakerPolicy,
  fallbackPolicy,
  gcra,
  isBulkheadRejectedError,
  limiterGroup,
  MemoryBudgetStore,
  MemoryStore,
  RedisStore,
  rateLimitPolicy,
  retryPolicy,
  tokenBucket,
} from '../../src/index.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis.js';
import {
  type FactoryFuzz,
  fuzzFactory,
  junk,
  maybe,
  onlyTypedOrSuccess,
  options,
  RUNS,
  show,
  trapUnhandledRejections,
} from './fuzz-support.js';

trapUnhandledRejections();

const ms = fc.oneof(
  fc.integer({ min: 1, max: 120_000 }),
  fc.double({ min: 0.001, max: 1e6, noNaN: true }),
);
const positive = fc.integer({ min: 1, max: 1_000_000 });
const key = fc.string({ minLength: 1, maxLength: 20 });
const share = fc.double({ min: 0, max: 1, noNaN: true });

const outcomes: Record<string, { made: number; refused: number }> = {};
function tally(name: string, outcome: 'made' | 'refused'): void {
  const t = outcomes[name] ?? { made: 0, refused: 0 };
  t[outcome]++;
  outcomes[name] = t;
}
afterAll(() => {
  console.info('fuzzed factories (made / refused):', JSON.stringify(outcomes));
});

/** `fuzzFactory`, its outcomes counted under `name` (or the name the input gives). */
function fuzz<I, T>(
  name: string | ((input: I) => string),
  spec: Omit<FactoryFuzz<I, T>, 'tally'>,
): Promise<void> {
  return fuzzFactory({
    ...spec,
    tally: (outcome, input) => tally(typeof name === 'string' ? name : name(input), outcome),
  });
}

/** A decision's wait: finite and not negative. */
function expectWait(decision: { retryAfterMs: number }): void {
  expect(Number.isFinite(decision.retryAfterMs) && decision.retryAfterMs >= 0).toBe(true);
}

/** `calls` calls at once through a bulkhead: each runs or is refused typed; none is left. */
async function expectBulkheadCalls(
  policy: { execute(fn: () => string): Promise<string>; inspect(): unknown },
  calls: number,
): Promise<void> {
  const results = await Promise.allSettled(
    Array.from({ length: calls }, () => policy.execute(() => 'ok')),
  );
  for (const r of results) {
    if (r.status === 'rejected') expect(isBulkheadRejectedError(r.reason)).toBe(true);
  }
  expect(policy.inspect()).toEqual({ executing: 0, queued: 0 });
}

const limiterOptions = {
  gcra: options({ key, name: key, limit: positive, periodMs: ms, burst: positive }),
  tokenBucket: options({ key, name: key, capacity: positive, refillPerSecond: ms }),
};

describe('fuzz: limiter factories', () => {
  it('gcra() and tokenBucket(): built or refused typed; tryAcquire and inspect settle', () =>
    fuzz((input) => input.kind, {
      input: fc.oneof(
        ...(['gcra', 'tokenBucket'] as const).map((kind) =>
          fc.record({
            kind: fc.constant(kind),
            opts: limiterOptions[kind],
            cost: maybe(fc.integer({ min: 0, max: 10 })),
          }),
        ),
      ),
      make: ({ kind, opts }) =>
        (kind === 'gcra' ? gcra : tokenBucket)({ ...opts, store: new MemoryStore() } as never),
      use: async (limiter, { cost }) => {
        expectWait(await limiter.tryAcquire(cost as number));
        const snap = await limiter.inspect();
        expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
      },
      runs: RUNS.fast,
    }));

  it('limiterGroup() over random members and costs: built or refused typed', () =>
    fuzz('limiterGroup', {
      input: fc.record({
        members: fc.array(fc.tuple(fc.boolean(), key, positive), { maxLength: 4 }),
        sameStore: fc.boolean(),
        costs: maybe(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 5 })),
      }),
      make: ({ members, sameStore }) => {
        const shared = new MemoryStore();
        return limiterGroup(
          members.map(([isGcra, k, n]) => {
            const store = sameStore ? shared : new MemoryStore();
            return isGcra
              ? gcra({ key: k, limit: n, periodMs: 1000, store })
              : tokenBucket({ key: k, capacity: n, refillPerSecond: n, store });
          }),
        );
      },
      use: async (group, { costs }) => expectWait(await group.tryAcquire(costs as number[])),
      runs: RUNS.medium,
    }));

  it('new Budget(): random dimensions built or refused typed; tryAcquire settles', () => {
    const dimension = options({
      name: key,
      key,
      limit: positive,
      periodMs: ms,
      burst: positive,
      arrivalLagMs: fc.integer({ min: 0, max: 1000 }),
    });
    return fuzz('Budget', {
      input: fc.record({
        dimensions: maybe(fc.array(dimension, { maxLength: 4 })),
        costs: maybe(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 4 })),
      }),
      make: ({ dimensions }) =>
        new Budget({ dimensions: dimensions as never, store: new MemoryBudgetStore() }),
      use: async (budget, { costs }) => {
        const d = await budget.tryAcquire(costs as number[]);
        expectWait(d);
        await d.permit?.cancel();
        await budget.inspect();
      },
      runs: RUNS.medium,
    });
  });

  it('rateLimitPolicy(): built or refused typed; a call runs or is refused typed', () =>
    fuzz('rateLimitPolicy', {
      input: options({
        cost: fc.oneof(
          fc.integer({ min: 0, max: 200 }),
          fc.constant(() => 1),
        ),
        maxWaitMs: fc.integer({ min: 0, max: 50 }),
        settle: fc.constant(() => undefined),
      }),
      make: (opts) =>
        rateLimitPolicy(
          gcra({ key: 'k', limit: 100, periodMs: 1000, store: new MemoryStore() }),
          opts as never,
        ),
      use: (policy) => policy.execute(() => 'ok'),
      runs: RUNS.fast,
    }));
});

describe('fuzz: resilience policies', () => {
  it('retryPolicy(): built or refused typed; a call succeeds, a failing one rejects with its error', () =>
    fuzz('retryPolicy', {
      input: options({
        maxRetries: fc.integer({ min: 0, max: 3 }),
        maxRetryAfterMs: ms,
        baseDelayMs: fc.integer({ min: 0, max: 3 }),
        maxDelayMs: fc.integer({ min: 0, max: 5 }),
        retryOn: fc.constant(() => false),
        random: fc.constant(() => 0.5),
      }),
      make: (opts) => retryPolicy(opts as never),
      use: async (policy) => {
        await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
        const own = new RangeError('not a provider error');
        await expect(policy.execute(() => Promise.reject(own))).rejects.toBe(own);
      },
      runs: RUNS.fast,
    }));

  it('circuitBreakerPolicy(): built or refused typed; a call runs', () =>
    fuzz('circuitBreakerPolicy', {
      input: options({
        consecutiveFailures: fc.integer({ min: 1, max: 10 }),
        halfOpenAfterMs: ms,
        sampling: options({
          threshold: share,
          durationMs: ms,
          minimumRps: fc.integer({ min: 0, max: 10 }),
        }),
        halfOpenSampling: options({ calls: fc.integer({ min: 1, max: 5 }), threshold: share }),
        isFailure: fc.constant(() => true),
      }),
      make: (opts) => circuitBreakerPolicy(opts as never),
      use: async (policy) => {
        await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
        expect(['closed', 'open', 'half-open', 'isolated']).toContain(policy.inspect().state);
        policy.dispose();
      },
      runs: RUNS.fast,
    }));

  it('bulkheadPolicy(): built or refused typed; calls run or are refused', () =>
    fuzz('bulkheadPolicy', {
      input: options({
        maxConcurrent: fc.integer({ min: 1, max: 5 }),
        maxQueue: fc.integer({ min: 0, max: 5 }),
        leaseMs: ms,
        pollIntervalMs: ms,
        random: fc.constant(() => 0.5),
      }),
      make: (opts) => bulkheadPolicy(opts as never),
      use: (policy) => expectBulkheadCalls(policy, 4),
      runs: RUNS.fast,
    }));

  it('fallbackPolicy(): built or refused typed; a failing call falls back or rejects with its error', () =>
    fuzz('fallbackPolicy', {
      input: options({
        to: fc.constant(() => 'backup'),
        on: fc.constantFrom(
          () => true,
          () => false,
        ),
      }),
      make: (opts) => fallbackPolicy(opts as never),
      use: async (policy) => {
        const own = Object.assign(new Error('529'), { status: 529 });
        const result = await policy.execute(() => Promise.reject(own)).catch((e) => e);
        // the error itself, or what `to` returned (junk `to` functions return undefined)
        expect(result === own || !(result instanceof Error)).toBe(true);
      },
      runs: RUNS.fast,
    }));
});

describe('fuzz: options of what lives in Redis (on a Redis server of its own)', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('new RedisStore(): built or refused typed; a limiter on it answers', () =>
    fuzz('RedisStore', {
      input: options({
        prefix: fc.string({ minLength: 1, maxLength: 12 }),
        onUnavailable: fc.constantFrom('fail-closed', 'fail-open', 'local'),
        timeoutMs: fc.integer({ min: 1, max: 5000 }),
        localWorkers: fc.integer({ min: 1, max: 16 }),
        recheckMs: fc.integer({ min: 1, max: 5000 }),
      }),
      make: (opts) => new RedisStore(redis, opts as never),
      use: async (store) =>
        expectWait(await gcra({ key: 'fuzz', limit: 10, periodMs: 1000, store }).tryAcquire()),
      runs: RUNS.medium,
    }));

  it('bulkheadPolicy({ redis, key, ... }): built or refused typed; calls run or are refused', () =>
    fuzz('bulkheadPolicy+redis', {
      input: options({
        key: fc.string({ minLength: 1, maxLength: 12 }),
        maxConcurrent: fc.integer({ min: 1, max: 3 }),
        maxQueue: fc.integer({ min: 0, max: 3 }),
        leaseMs: fc.integer({ min: 100, max: 60_000 }),
        pollIntervalMs: fc.integer({ min: 1, max: 50 }),
      }),
      make: (opts) => bulkheadPolicy({ ...opts, redis } as never),
      use: (policy) => expectBulkheadCalls(policy, 5),
      timeoutMs: 5000,
      runs: RUNS.slow * 2,
    }));

  it('circuitBreakerPolicy({ shared }): built or refused typed; a call runs; dispose closes it', () =>
    fuzz('circuitBreakerPolicy+shared', {
      input: options({
        key: fc.string({ minLength: 1, maxLength: 12 }),
        syncIntervalMs: fc.integer({ min: 10, max: 10_000 }),
        probeLeaseMs: fc.integer({ min: 1, max: 60_000 }),
      }),
      make: (shared) => circuitBreakerPolicy({ shared: { ...shared, redis } as never }),
      use: async (policy) => {
        try {
          await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
        } finally {
          policy.dispose();
        }
      },
      runs: RUNS.slow * 2,
    }));
});

describe('fuzz: junk in place of a whole options object', () => {
  it('every factory refuses a non-object typed', async () => {
    const factories: Record<string, (o: never) => unknown> = {
      gcra,
      tokenBucket,
      retryPolicy,
      circuitBreakerPolicy,
      bulkheadPolicy,
      fallbackPolicy,
      budget: (o) => new Budget(o),
      redisStore: (o) => new RedisStore({ evalsha: () => 0, eval: () => 0 } as never, o),
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(factories)), junk, async (name, value) => {
        const outcome = await onlyTypedOrSuccess({ name, value: show(value) }, () =>
          (factories[name] as (o: never) => unknown)(value as never),
        );
        tally(`${name}(junk)`, outcome);
      }),
      { numRuns: RUNS.fast },
    );
  });
});
