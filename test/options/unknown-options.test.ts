/**
 * Every factory refuses option keys it does not know, as plain JavaScript would pass them (the
 * casts stand for an untyped caller), naming the nearest known option. Nothing is built: no Redis
 * command is sent, no server started.
 */
import { describe, expect, it } from 'vitest';
import {
  Budget,
  bulkheadPolicy,
  circuitBreakerPolicy,
  fallbackPolicy,
  gcra,
  MemoryRetryBudget,
  RedisRetryBudget,
  RedisSemaphore,
  RedisStore,
  rateLimitPolicy,
  retryPolicy,
  tokenBucket,
  UnknownOptionError,
} from '../../src/index.js';
import { startSimulator } from '../../src/simulator/index.js';

/** Stands for an ioredis client; every case is refused before one would be used. */
const redis = {
  evalsha: () => Promise.reject(new Error('not used')),
  eval: () => Promise.reject(new Error('not used')),
} as never;

// biome-ignore lint/suspicious/noExplicitAny: the options an untyped caller passes
type Untyped = any;
const untyped = (options: object): Untyped => options;

const limiter = () => gcra({ key: 'k', limit: 10, periodMs: 1000 });

const cases: [string, () => unknown, string, string | undefined][] = [
  [
    'gcra',
    () => gcra(untyped({ key: 'k', limit: 5, periodMs: 1000, bursts: 5 })),
    'bursts',
    'burst',
  ],
  [
    'tokenBucket',
    () => tokenBucket(untyped({ key: 'k', capcity: 5, refillPerSecond: 1 })),
    'capcity',
    'capacity',
  ],
  [
    'rateLimitPolicy',
    () => rateLimitPolicy(limiter(), untyped({ maxWait: 100 })),
    'maxWait',
    'maxWaitMs',
  ],
  ['retryPolicy', () => retryPolicy(untyped({ retries: 3 })), 'retries', 'maxRetries'],
  [
    'circuitBreakerPolicy',
    () => circuitBreakerPolicy(untyped({ threshold: 3 })),
    'threshold',
    'consecutiveFailures',
  ],
  [
    'circuitBreakerPolicy sampling',
    () => circuitBreakerPolicy(untyped({ sampling: { treshold: 0.5, durationMs: 1000 } })),
    'sampling.treshold',
    'threshold',
  ],
  [
    'circuitBreakerPolicy halfOpenSampling',
    () => circuitBreakerPolicy(untyped({ halfOpenSampling: { call: 1, threshold: 0 } })),
    'halfOpenSampling.call',
    'calls',
  ],
  [
    'circuitBreakerPolicy shared',
    () => circuitBreakerPolicy(untyped({ shared: { redis, key: 'c', syncInterval: 100 } })),
    'shared.syncInterval',
    'syncIntervalMs',
  ],
  [
    'bulkheadPolicy',
    () => bulkheadPolicy(untyped({ maxConcurent: 3 })),
    'maxConcurent',
    'maxConcurrent',
  ],
  [
    'fallbackPolicy',
    () => fallbackPolicy(untyped({ to: () => 'backup', when: () => true })),
    'when',
    'on',
  ],
  ['RedisStore', () => new RedisStore(redis, untyped({ timeout: 100 })), 'timeout', 'timeoutMs'],
  ['MemoryRetryBudget', () => new MemoryRetryBudget(untyped({ ratios: 0.1 })), 'ratios', 'ratio'],
  [
    'RedisRetryBudget',
    () => new RedisRetryBudget(untyped({ redis, key: 'b', minRetry: 1 })),
    'minRetry',
    'minRetries',
  ],
  [
    'Budget',
    () => new Budget(untyped({ dimensions: [{ name: 'rpm', key: 'b:rpm', limit: 5 }], stores: 1 })),
    'stores',
    'store',
  ],
  [
    'Budget dimensions',
    () => new Budget(untyped({ dimensions: [{ name: 'rpm', key: 'b:rpm', limit: 5, bursts: 2 }] })),
    'dimensions[0].bursts',
    'burst',
  ],
  [
    'RedisSemaphore',
    () => new RedisSemaphore(untyped({ redis, key: 's', limit: 1, leaseMs: 10, lease: 10 })),
    'lease',
    'leaseMs',
  ],
];

describe('unknown option keys', () => {
  it.each(cases)('%s refuses them, naming the nearest known option', (_, make, option, nearest) => {
    let caught: unknown;
    try {
      make();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnknownOptionError);
    const error = caught as UnknownOptionError;
    expect(error.option).toBe(option);
    expect(error.suggestion).toBe(nearest);
  });

  it('acquire refuses an unknown option of the call', async () => {
    await expect(limiter().acquire(1, untyped({ maxWait: 5 }))).rejects.toMatchObject({
      code: 'UNKNOWN_OPTION',
      option: 'maxWait',
      suggestion: 'maxWaitMs',
      where: 'acquire()',
    });
  });

  const simulatorCases: [object, string, string][] = [
    [{ provider: 'anthropic', limit: { rpm: 5 } }, 'limit', 'limits'],
    [{ provider: 'anthropic', limits: { rpms: 5 } }, 'limits.rpms', 'rpm'],
    [{ provider: 'openai', latencyMs: { firstToken: 5 } }, 'latencyMs.firstToken', 'firstTokenMs'],
    [{ provider: 'openai', faults: { rate: {} } }, 'faults.rate', 'rates'],
    [
      { provider: 'openai', faults: { rates: { rate_limits: 0.1 } } },
      'faults.rates.rate_limits',
      'rate_limit',
    ],
    [
      { provider: 'openai', faults: { script: [{ kind: 'rate_limit', retryAfter: 1 }] } },
      'faults.script[0].retryAfter',
      'retryAfterSeconds',
    ],
    [{ provider: 'anthropic', promptCache: { ttl: 5 } }, 'promptCache.ttl', 'ttlMs'],
    [
      { provider: 'anthropic', outputTokens: { min: 1, maximum: 5 } },
      'outputTokens.maximum',
      'max',
    ],
  ];

  it.each(simulatorCases)('startSimulator refuses %j', async (options, option, nearest) => {
    await expect(startSimulator(untyped(options))).rejects.toMatchObject({
      code: 'UNKNOWN_OPTION',
      option,
      suggestion: nearest,
    });
  });
});
