/** Type-level checks of the public API (checked by `tsc -p tsconfig.json` and by vitest). */
import type { IDefaultPolicyContext, IPolicy, IRetryContext } from 'cockatiel';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type BulkheadSnapshot,
  bulkheadPolicy,
  type CircuitSnapshot,
  circuitBreakerPolicy,
  type ErrorKind,
  fallbackPolicy,
  type RetrySnapshot,
  retryPolicy,
  wrap,
} from '../../src/index.js';

describe('public API types', () => {
  it('every policy is a cockatiel IPolicy', () => {
    expectTypeOf(retryPolicy()).toMatchTypeOf<IPolicy<IRetryContext>>();
    expectTypeOf(circuitBreakerPolicy()).toMatchTypeOf<IPolicy<IDefaultPolicyContext>>();
    expectTypeOf(bulkheadPolicy()).toMatchTypeOf<IPolicy<IDefaultPolicyContext>>();
    expectTypeOf(fallbackPolicy({ to: () => 'x' })).toMatchTypeOf<
      IPolicy<IDefaultPolicyContext, string>
    >();
  });

  it('wrap keeps the retry context and the fallback result type', () => {
    const policy = wrap(fallbackPolicy({ to: () => 42 }), retryPolicy(), circuitBreakerPolicy());
    expectTypeOf(
      policy.execute(async (ctx) => {
        expectTypeOf(ctx.attempt).toEqualTypeOf<number>();
        expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
        return 'text';
      }),
    ).resolves.toEqualTypeOf<string | number>();
  });

  it('snapshots have the documented shapes', () => {
    expectTypeOf(circuitBreakerPolicy().inspect()).toEqualTypeOf<CircuitSnapshot>();
    expectTypeOf<CircuitSnapshot['state']>().toEqualTypeOf<
      'closed' | 'open' | 'half-open' | 'isolated'
    >();
    expectTypeOf<CircuitSnapshot['lastFailure']>().toEqualTypeOf<
      { name: string; status?: number; message: string } | undefined
    >();
    expectTypeOf(bulkheadPolicy().inspect()).toEqualTypeOf<BulkheadSnapshot>();
    expectTypeOf<BulkheadSnapshot>().toEqualTypeOf<{ executing: number; queued: number }>();
    expectTypeOf(retryPolicy().inspect()).toEqualTypeOf<RetrySnapshot>();
    expectTypeOf<ErrorKind>().toMatchTypeOf<string>();
  });

  it('options reject unknown and mistyped values', () => {
    // Compile-time only: these are never called.
    const neverCalled = [
      // @ts-expect-error maxRetries is a number
      () => retryPolicy({ maxRetries: '2' }),
      // @ts-expect-error `to` is required
      () => fallbackPolicy({}),
      // @ts-expect-error shared needs a key
      () => circuitBreakerPolicy({ shared: { redis: undefined as never } }),
    ];
    expectTypeOf(neverCalled).toBeArray();
  });
});
