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

const limiterOptions = {
  gcra: options({ key, name: key, limit: positive, periodMs: ms, burst: positive }),
  tokenBucket: options({ key, name: key, capacity: positive, refillPerSecond: ms }),
};

describe('fuzz: limiter factories', () => {
  it('gcra() and tokenBucket(): built or refused typed; tryAcquire and inspect settle', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('gcra', 'tokenBucket') as fc.Arbitrary<'gcra' | 'tokenBucket'>,
        fc.constant(null).chain(() => fc.tuple(limiterOptions.gcra, limiterOptions.tokenBucket)),
        maybe(fc.integer({ min: 0, max: 10 })),
        async (kind, [g, t], cost) => {
          const opts = kind === 'gcra' ? g : t;
          const outcome = await onlyTypedOrSuccess(
            { kind, opts, cost },
            () =>
              kind === 'gcra'
                ? gcra({ ...(opts as object), store: new MemoryStore() } as never)
                : tokenBucket({ ...(opts as object), store: new MemoryStore() } as never),
            async (limiter) => {
              const d = await limiter.tryAcquire(cost as number);
              expect(Number.isFinite(d.retryAfterMs) && d.retryAfterMs >= 0).toBe(true);
              const snap = await limiter.inspect();
              expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
            },
          );
          tally(kind, outcome);
        },
      ),
      { numRuns: RUNS.fast },
    );
  });

  it('limiterGroup() over random members and costs: built or refused typed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), key, positive), { maxLength: 4 }),
        fc.boolean(),
        maybe(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 5 })),
        async (members, sameStore, costs) => {
          const shared = new MemoryStore();
          const input = { members, sameStore, costs };
          const outcome = await onlyTypedOrSuccess(
            input,
            () =>
              limiterGroup(
                members.map(([isGcra, k, n]) => {
                  const store = sameStore ? shared : new MemoryStore();
                  return isGcra
                    ? gcra({ key: k, limit: n, periodMs: 1000, store })
                    : tokenBucket({ key: k, capacity: n, refillPerSecond: n, store });
                }),
              ),
            async (group) => {
              const d = await group.tryAcquire(costs as number[]);
              expect(Number.isFinite(d.retryAfterMs) && d.retryAfterMs >= 0).toBe(true);
            },
          );
          tally('limiterGroup', outcome);
        },
      ),
      { numRuns: RUNS.medium },
    );
  });

  it('new Budget(): random dimensions built or refused typed; tryAcquire settles', async () => {
    const dimension = options({
      name: key,
      key,
      limit: positive,
      periodMs: ms,
      burst: positive,
      arrivalLagMs: fc.integer({ min: 0, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        maybe(fc.array(dimension, { maxLength: 4 })),
        maybe(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 4 })),
        async (dimensions, costs) => {
          const input = { dimensions, costs };
          const outcome = await onlyTypedOrSuccess(
            input,
            () => new Budget({ dimensions: dimensions as never, store: new MemoryBudgetStore() }),
            async (budget) => {
              const d = await budget.tryAcquire(costs as number[]);
              expect(Number.isFinite(d.retryAfterMs) && d.retryAfterMs >= 0).toBe(true);
              await d.permit?.cancel();
              await budget.inspect();
            },
          );
          tally('Budget', outcome);
        },
      ),
      { numRuns: RUNS.medium },
    );
  });

  it('rateLimitPolicy(): built or refused typed; a call runs or is refused typed', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
          cost: fc.oneof(
            fc.integer({ min: 0, max: 200 }),
            fc.constant(() => 1),
          ),
          maxWaitMs: fc.integer({ min: 0, max: 50 }),
          settle: fc.constant(() => undefined),
        }),
        async (opts) => {
          const limiter = gcra({ key: 'k', limit: 100, periodMs: 1000, store: new MemoryStore() });
          const outcome = await onlyTypedOrSuccess(
            opts,
            () => rateLimitPolicy(limiter, opts as never),
            (policy) => policy.execute(() => 'ok'),
          );
          tally('rateLimitPolicy', outcome);
        },
      ),
      { numRuns: RUNS.fast },
    );
  });
});

describe('fuzz: resilience policies', () => {
  it('retryPolicy(): built or refused typed; a call succeeds, a failing one rejects with its error', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
          maxRetries: fc.integer({ min: 0, max: 3 }),
          maxRetryAfterMs: ms,
          baseDelayMs: fc.integer({ min: 0, max: 3 }),
          maxDelayMs: fc.integer({ min: 0, max: 5 }),
          retryOn: fc.constant(() => false),
          random: fc.constant(() => 0.5),
        }),
        async (opts) => {
          const outcome = await onlyTypedOrSuccess(
            opts,
            () => retryPolicy(opts as never),
            async (policy) => {
              await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
              const own = new RangeError('not a provider error');
              await expect(policy.execute(() => Promise.reject(own))).rejects.toBe(own);
            },
          );
          tally('retryPolicy', outcome);
        },
      ),
      { numRuns: RUNS.fast },
    );
  });

  it('circuitBreakerPolicy(): built or refused typed; a call runs', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
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
        async (opts) => {
          const outcome = await onlyTypedOrSuccess(
            opts,
            () => circuitBreakerPolicy(opts as never),
            async (policy) => {
              await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
              expect(['closed', 'open', 'half-open', 'isolated']).toContain(policy.inspect().state);
              policy.dispose();
            },
          );
          tally('circuitBreakerPolicy', outcome);
        },
      ),
      { numRuns: RUNS.fast },
    );
  });

  it('bulkheadPolicy(): built or refused typed; calls run or are refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
          maxConcurrent: fc.integer({ min: 1, max: 5 }),
          maxQueue: fc.integer({ min: 0, max: 5 }),
          leaseMs: ms,
          pollIntervalMs: ms,
          random: fc.constant(() => 0.5),
        }),
        async (opts) => {
          const outcome = await onlyTypedOrSuccess(
            opts,
            () => bulkheadPolicy(opts as never),
            async (policy) => {
              const results = await Promise.allSettled(
                [0, 1, 2, 3].map(() => policy.execute(() => 'ok')),
              );
              for (const r of results) {
                if (r.status === 'rejected') expect(isBulkheadRejectedError(r.reason)).toBe(true);
              }
              expect(policy.inspect()).toEqual({ executing: 0, queued: 0 });
            },
          );
          tally('bulkheadPolicy', outcome);
        },
      ),
      { numRuns: RUNS.fast },
    );
  });

  it('fallbackPolicy(): built or refused typed; a failing call falls back or rejects with its error', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
          to: fc.constant(() => 'backup'),
          on: fc.constantFrom(
            () => true,
            () => false,
          ),
        }),
        async (opts) => {
          const outcome = await onlyTypedOrSuccess(
            opts,
            () => fallbackPolicy(opts as never),
            async (policy) => {
              const own = Object.assign(new Error('529'), { status: 529 });
              const result = await policy.execute(() => Promise.reject(own)).catch((e) => e);
              // the error itself, or what `to` returned (junk `to` functions return undefined)
              expect(result === own || !(result instanceof Error)).toBe(true);
            },
          );
          tally('fallbackPolicy', outcome);
        },
      ),
      { numRuns: RUNS.fast },
    );
  });
});

describe('fuzz: RedisStore options (on a Redis server of its own)', () => {
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

  it('new RedisStore(): built or refused typed; a limiter on it answers', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
          prefix: fc.string({ minLength: 1, maxLength: 12 }),
          onUnavailable: fc.constantFrom('fail-closed', 'fail-open', 'local'),
          timeoutMs: fc.integer({ min: 1, max: 5000 }),
          localWorkers: fc.integer({ min: 1, max: 16 }),
          recheckMs: fc.integer({ min: 1, max: 5000 }),
        }),
        async (opts) => {
          const outcome = await onlyTypedOrSuccess(
            opts,
            () => new RedisStore(redis, opts as never),
            async (store) => {
              const limiter = gcra({ key: 'fuzz', limit: 10, periodMs: 1000, store });
              const d = await limiter.tryAcquire();
              expect(Number.isFinite(d.retryAfterMs) && d.retryAfterMs >= 0).toBe(true);
            },
          );
          tally('RedisStore', outcome);
        },
      ),
      { numRuns: RUNS.medium },
    );
  });
});

describe('fuzz: cluster-wide bulkhead and shared circuit options (own Redis server)', () => {
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

  it('bulkheadPolicy({ redis, key, ... }): built or refused typed; calls run or are refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
          key: fc.string({ minLength: 1, maxLength: 12 }),
          maxConcurrent: fc.integer({ min: 1, max: 3 }),
          maxQueue: fc.integer({ min: 0, max: 3 }),
          leaseMs: fc.integer({ min: 100, max: 60_000 }),
          pollIntervalMs: fc.integer({ min: 1, max: 50 }),
        }),
        async (opts) => {
          const outcome = await onlyTypedOrSuccess(
            opts,
            () => bulkheadPolicy({ ...opts, redis } as never),
            async (policy) => {
              const results = await Promise.allSettled(
                [0, 1, 2, 3, 4].map(() => policy.execute(() => 'ok')),
              );
              for (const r of results) {
                if (r.status === 'rejected') expect(isBulkheadRejectedError(r.reason)).toBe(true);
              }
              expect(policy.inspect()).toEqual({ executing: 0, queued: 0 });
            },
            5000,
          );
          tally('bulkheadPolicy+redis', outcome);
        },
      ),
      { numRuns: RUNS.slow * 2 },
    );
  });

  it('circuitBreakerPolicy({ shared }): built or refused typed; a call runs; dispose closes it', async () => {
    await fc.assert(
      fc.asyncProperty(
        options({
          key: fc.string({ minLength: 1, maxLength: 12 }),
          syncIntervalMs: fc.integer({ min: 10, max: 10_000 }),
          probeLeaseMs: fc.integer({ min: 1, max: 60_000 }),
        }),
        async (shared) => {
          const outcome = await onlyTypedOrSuccess(
            shared,
            () => circuitBreakerPolicy({ shared: { ...shared, redis } as never }),
            async (policy) => {
              try {
                await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
              } finally {
                policy.dispose();
              }
            },
          );
          tally('circuitBreakerPolicy+shared', outcome);
        },
      ),
      { numRuns: RUNS.slow * 2 },
    );
  });
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
