/**
 * A bad argument of a call is named as the argument it is, and a rate-limit policy that could
 * never run a call is refused when it is built, not when it first executes.
 */
import { describe, expect, it } from 'vitest';
import {
  gcra,
  InvalidArgumentError,
  InvalidConfigError,
  isInvalidConfigError,
  limiterGroup,
  MemoryStore,
  rateLimitPolicy,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

const limiter = (burst = 5) =>
  gcra({ key: 'k', limit: 10, periodMs: 1000, burst, clock: new ManualClock() });

async function rejection(promise: Promise<unknown>): Promise<InvalidArgumentError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  return error as InvalidArgumentError;
}

describe('arguments of calls', () => {
  it('acquire(-1) names the argument `cost` of acquire(), not an option', async () => {
    const error = await rejection(limiter().acquire(-1));
    expect(error.argument).toBe('cost');
    expect(error.where).toBe('acquire()');
    expect(error.received).toBe(-1);
    expect(error.message).toBe(
      'Invalid argument `cost` of acquire(): expected a non-negative integer, received -1',
    );
    // Still the one configuration error to catch.
    expect(isInvalidConfigError(error)).toBe(true);
    expect(error.code).toBe('INVALID_ARGUMENT');
  });

  it('tryAcquire, settle and holdFor name their own arguments', async () => {
    const l = limiter();
    expect((await rejection(l.tryAcquire(1.5))).where).toBe('tryAcquire()');
    const permit = await l.acquire(1);
    const settle = await rejection(permit.settle(-2));
    expect([settle.argument, settle.where]).toEqual(['actual', 'permit.settle()']);
    const hold = await rejection(l.holdFor(Number.NaN));
    expect([hold.argument, hold.where]).toEqual(['delayMs', 'holdFor()']);
    const until = await rejection(l.hold(Number.POSITIVE_INFINITY));
    expect([until.argument, until.where]).toEqual(['untilMs', 'hold()']);
  });

  it('a group names a wrong number of costs', async () => {
    const store = new MemoryStore();
    const a = gcra({ key: 'a', limit: 1, periodMs: 1000, store });
    const b = gcra({ key: 'b', limit: 1, periodMs: 1000, store });
    const error = await rejection(limiterGroup([a, b]).acquire([1, 1, 1]));
    expect(error.message).toContain('one cost per limiter (2)');
  });
});

describe('rateLimitPolicy construction', () => {
  it('rateLimitPolicy(undefined) is refused at construction, naming the argument', () => {
    let caught: unknown;
    try {
      rateLimitPolicy(undefined as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).argument).toBe('acquirer');
    expect((caught as InvalidArgumentError).where).toBe('rateLimitPolicy()');
  });

  it('a fixed cost above a limiter burst can never be admitted: refused at construction', () => {
    let caught: unknown;
    try {
      rateLimitPolicy(limiter(5), { cost: 10 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    expect((caught as InvalidConfigError).option).toBe('cost');
    expect((caught as Error).message).toContain('"k"');
    expect((caught as Error).message).toContain('burst');
  });

  it('a fixed cost per member is checked against each member', () => {
    const store = new MemoryStore();
    const rpm = gcra({ key: 'rpm', limit: 50, periodMs: 60_000, store });
    const otpm = gcra({ key: 'otpm', limit: 8000, periodMs: 60_000, store });
    const group = limiterGroup([rpm, otpm]);
    expect(() => rateLimitPolicy(group, { cost: [1, 9000] })).toThrow(/"otpm"/);
    expect(() => rateLimitPolicy(group, { cost: [1, 2, 3] })).toThrow(InvalidConfigError);
    expect(() => rateLimitPolicy(group, { cost: [1, 8000] })).not.toThrow();
  });
});
