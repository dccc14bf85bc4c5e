/**
 * One configuration error to catch: every option or argument the library refuses is an
 * `InvalidConfigError` (its guard included), whatever part of the library refused it.
 * `InvalidLimiterConfigError` is a deprecated name for the same class.
 */
import { describe, expect, it } from 'vitest';
import {
  bulkheadPolicy,
  gcra,
  InvalidConfigError,
  InvalidLimiterConfigError,
  isInvalidConfigError,
  isInvalidLimiterConfigError,
  isLlmResilienceError,
  RedisStore,
  retryPolicy,
} from '../../src/index.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('configuration errors', () => {
  const refusals = {
    'a limiter option': () => gcra({ key: 'k', limit: -1, periodMs: 1000 }),
    'a store option': () =>
      new RedisStore({ evalsha: () => 0, eval: () => 0 } as never, { timeoutMs: 0 }),
    'a policy option': () => retryPolicy({ maxRetries: -1 }),
    'a bulkhead option': () => bulkheadPolicy({ maxQueue: 1.5 }),
  };

  it.each(Object.entries(refusals))('%s is refused with an InvalidConfigError', (_, refuse) => {
    const error = thrown(refuse);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(isInvalidConfigError(error)).toBe(true);
    expect(isLlmResilienceError(error)).toBe(true);
    expect((error as InvalidConfigError).code).toBe('INVALID_CONFIG');
  });

  it('the deprecated InvalidLimiterConfigError name still catches limiter refusals', () => {
    const error = thrown(refusals['a limiter option']);
    expect(error).toBeInstanceOf(InvalidLimiterConfigError);
    expect(isInvalidLimiterConfigError(error)).toBe(true);
    expect(InvalidLimiterConfigError).toBe(InvalidConfigError);
  });

  it('the guard recognises a subclass by its brand, not by its code', () => {
    const copy = Object.assign(new Error('from another copy of the package'), {
      isLlmResilienceError: true,
      isInvalidConfigError: true,
      code: 'SOMETHING_MORE_SPECIFIC',
    });
    expect(isInvalidConfigError(copy)).toBe(true);
    expect(isInvalidConfigError(new Error('x'))).toBe(false);
  });
});
