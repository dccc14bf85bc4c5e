/**
 * The shared option-key check: an unknown key is refused with the nearest known option named,
 * found by edit distance, by one name containing the other, or by a name other libraries use.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isInvalidConfigError, UnknownOptionError } from '../../src/index.js';
import { checkKnownKeys, editDistance, nearestOption } from '../../src/options/check-options.js';

function refusal(fn: () => void): UnknownOptionError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UnknownOptionError) return error;
    throw error;
  }
  throw new Error('expected an UnknownOptionError');
}

describe('checkKnownKeys', () => {
  const known = ['key', 'limit', 'periodMs', 'burst', 'store', 'clock'] as const;

  it('accepts known keys, undefined values of known keys, and no options at all', () => {
    expect(() => checkKnownKeys({ key: 'k', burst: undefined }, known, 'gcra()')).not.toThrow();
    expect(() => checkKnownKeys(undefined, known, 'gcra()')).not.toThrow();
  });

  it('refuses an unknown key naming it, the factory and the nearest known option', () => {
    const error = refusal(() => checkKnownKeys({ key: 'k', bursts: 5 }, known, 'gcra()'));
    expect(error.option).toBe('bursts');
    expect(error.where).toBe('gcra()');
    expect(error.suggestion).toBe('burst');
    expect(error.received).toBe(5);
    expect(error.code).toBe('UNKNOWN_OPTION');
    expect(isInvalidConfigError(error)).toBe(true);
    expect(error.message).toContain('`bursts`');
    expect(error.message).toContain('did you mean `burst`?');
    expect(error.message).toContain('gcra()');
  });

  it('prefers a known name containing the unknown one over a closer spelling', () => {
    // 'retryOn' is as few edits from 'retries' as 'maxRetries' is, but does not contain it.
    expect(nearestOption('retries', ['maxRetries', 'retryOn', 'baseDelayMs'])).toBe('maxRetries');
    expect(nearestOption('halfOpenAfter', ['halfOpenAfterMs', 'shared'])).toBe('halfOpenAfterMs');
    expect(nearestOption('TIMEOUTMS', ['timeoutMs', 'recheckMs'])).toBe('timeoutMs');
    expect(nearestOption('minRetry', ['ratio', 'minRetries'])).toBe('minRetries');
    expect(nearestOption('retries', ['retryOn', 'budget'])).toBeUndefined();
  });

  it('maps names other libraries use through the aliases', () => {
    const error = refusal(() =>
      checkKnownKeys({ threshold: 3 }, ['consecutiveFailures', 'halfOpenAfterMs'], 'x()', {
        aliases: { threshold: 'consecutiveFailures' },
      }),
    );
    expect(error.suggestion).toBe('consecutiveFailures');
  });

  it('suggests nothing when no known name is near', () => {
    const error = refusal(() => checkKnownKeys({ colour: 'red' }, known, 'gcra()'));
    expect(error.suggestion).toBeUndefined();
    expect(error.message).toContain('known options: key, limit, periodMs, burst, store, clock');
  });

  it('names a nested option with its path', () => {
    const error = refusal(() =>
      checkKnownKeys({ treshold: 0.5 }, ['threshold', 'durationMs'], 'circuitBreakerPolicy()', {
        path: 'sampling',
      }),
    );
    expect(error.option).toBe('sampling.treshold');
    expect(error.suggestion).toBe('threshold');
  });

  it('refuses options that are not an object', () => {
    for (const bad of [null, 5, 'x', [1]]) {
      let caught: unknown;
      try {
        checkKnownKeys(bad, known, 'gcra()');
      } catch (error) {
        caught = error;
      }
      expect(isInvalidConfigError(caught)).toBe(true);
      expect((caught as Error).message).toContain('gcra()');
    }
  });

  it('editDistance is the Levenshtein distance (symmetric, zero only for equal strings, a metric)', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    const word = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(word, word, word, (a, b, c) => {
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
        expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});
