/**
 * Type-level tests of the public contract (../shared/API.md): checked by `tsc` in `npm test`,
 * and run by vitest so that a renamed export also fails at run time.
 */
import type { IPolicy } from 'cockatiel';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as api from '../../src/index.js';
import {
  type Decision,
  gcra,
  type LimiterSnapshot,
  limiterGroup,
  MemoryStore,
  type Permit,
  type RateLimitExceededError,
  rateLimitPolicy,
  tokenBucket,
  wrap,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('public API types', () => {
  it('limiters take the documented options and return the documented shapes', () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    const rpm = gcra({ key: 'rpm', limit: 50, periodMs: 60_000, burst: 5, store, clock });
    const tpm = tokenBucket({ key: 'tpm', capacity: 30_000, refillPerSecond: 500, store, clock });
    expectTypeOf(rpm.tryAcquire).returns.resolves.toEqualTypeOf<Decision>();
    expectTypeOf(rpm.acquire).returns.resolves.toEqualTypeOf<Permit>();
    expectTypeOf(rpm.inspect).returns.resolves.toEqualTypeOf<LimiterSnapshot>();
    expectTypeOf(limiterGroup([rpm, tpm]).acquire)
      .parameter(0)
      .toEqualTypeOf<number | readonly number[] | undefined>();
    expectTypeOf<Decision>().toHaveProperty('retryAfterMs').toEqualTypeOf<number>();
    expectTypeOf<Permit['settle']>().parameter(0).toEqualTypeOf<number | readonly number[]>();
    // @ts-expect-error cost must be a number or one number per limiter
    void (() => rpm.tryAcquire('1'));
    // @ts-expect-error limit is required
    void (() => gcra({ key: 'k', periodMs: 1000 }));
  });

  it('rateLimitPolicy is a cockatiel IPolicy usable in cockatiel wrap', () => {
    const policy = rateLimitPolicy(gcra({ key: 'k', limit: 1, periodMs: 1000 }));
    expectTypeOf(policy).toMatchTypeOf<IPolicy>();
    expectTypeOf(wrap(policy).execute(() => 42)).resolves.toEqualTypeOf<number>();
  });

  it('errors carry their structured fields', () => {
    expectTypeOf<RateLimitExceededError['retryAfterMs']>().toEqualTypeOf<number>();
    expectTypeOf(api.isRateLimitExceededError).guards.toEqualTypeOf<RateLimitExceededError>();
  });

  it('the root exports every documented name', () => {
    expect(Object.keys(api)).toEqual(
      expect.arrayContaining([
        'wrap',
        'gcra',
        'tokenBucket',
        'limiterGroup',
        'rateLimitPolicy',
        'MemoryStore',
        'RateLimitExceededError',
        'CostExceedsCapacityError',
        'LimiterUnavailableError',
        'InvalidLimiterConfigError',
        'InvalidConfigError',
        'isInvalidConfigError',
        'UnknownOptionError',
        'InvalidArgumentError',
        'LimiterKeyConflictError',
      ]),
    );
  });
});
