/**
 * Numbers in events are rounded to their unit: policy events in whole ms (waits rounded up, so a
 * server's Retry-After is never shortened; measured durations and instants to the nearest), the
 * limiter's in whole µs like every limiter figure. Clocks here read fractions of a ms, as the
 * system clock (performance.now) does.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bulkheadPolicy,
  type CircuitSnapshot,
  circuitBreakerPolicy,
  fallbackPolicy,
  gcra,
  type RedisRecoveredEvent,
  RedisStore,
  type RetryEvent,
  rateLimitPolicy,
  retryPolicy,
  type ThrottleEvent,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { redisUrl, switchableClient, uniquePrefix } from '../support/redis.js';

/** A manual clock reading a fraction of a ms past the epoch ms, as performance.now() does. */
const fractionalClock = () => new ManualClock(1_796_028_565_801.7725);

const overloaded = (headers: Record<string, string> = {}) =>
  Anthropic.APIError.generate(
    529,
    { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    undefined,
    new Headers(headers),
  );

const wholeMs = (value: number) => Number.isInteger(value);
/** At most three decimals: whole µs. */
const wholeUs = (value: number) => /^\d+(\.\d{1,3})?$/.test(String(value));

describe('retry events', () => {
  it('delayMs of a backoff is whole ms, and the wait lasts exactly that long', async () => {
    const clock = fractionalClock();
    const retry = retryPolicy({ clock, random: () => 0.3333 }); // 0.3333 × 500 = 166.65 ms
    const events: RetryEvent[] = [];
    retry.onRetry((e) => events.push(e));
    let calls = 0;
    const done = retry.execute(() => {
      calls++;
      if (calls === 1) throw overloaded();
      return 'ok';
    });
    await clock.advance(0);
    expect(events.map((e) => e.delayMs)).toEqual([167]);
    await clock.advance(166);
    expect(calls).toBe(1);
    await clock.advance(1);
    expect(await done).toBe('ok');
  });

  it("a server's fractional advice is rounded up, never shortened", async () => {
    const clock = fractionalClock();
    const retry = retryPolicy({ clock });
    const events: RetryEvent[] = [];
    retry.onRetry((e) => events.push(e));
    let calls = 0;
    const done = retry.execute(() => {
      if (++calls === 1) throw overloaded({ 'retry-after-ms': '387.625667995' });
      return 'ok';
    });
    await clock.advance(0);
    expect(events.map((e) => [e.delayMs, e.delaySource])).toEqual([[388, 'retry-after-ms']]);
    await clock.advance(388);
    await done;
  });

  it('durations of success and failure events are whole ms', async () => {
    const clock = fractionalClock();
    const retry = retryPolicy({ clock, maxRetries: 0 });
    const durations: number[] = [];
    retry.onSuccess((e) => durations.push(e.duration));
    retry.onFailure((e) => durations.push(e.duration));
    await retry.execute(async () => {
      await clock.advance(0.4);
      return 'ok';
    });
    await retry
      .execute(async () => {
        await clock.advance(1.7);
        throw overloaded();
      })
      .catch(() => undefined);
    expect(durations).toEqual([0, 2]);
  });
});

describe('circuit events', () => {
  it('since is a whole ms in snapshots and state events; durations are whole ms', async () => {
    const clock = fractionalClock();
    const breaker = circuitBreakerPolicy({ consecutiveFailures: 1, clock });
    const states: CircuitSnapshot[] = [];
    const durations: number[] = [];
    breaker.onStateChange((s) => states.push(s));
    breaker.onFailure((e) => durations.push(e.duration));
    expect(wholeMs(breaker.inspect().since)).toBe(true);
    await breaker
      .execute(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        throw overloaded();
      })
      .catch(() => undefined);
    expect(states.map((s) => s.state)).toEqual(['open']);
    expect(states.every((s) => wholeMs(s.since))).toBe(true);
    expect(durations.length).toBe(1);
    expect(durations.every(wholeMs)).toBe(true);
  });
});

describe('bulkhead and fallback events', () => {
  it('durations are whole ms', async () => {
    const clock = fractionalClock();
    const bulkhead = bulkheadPolicy({ clock });
    const fallback = fallbackPolicy({ to: () => 'backup' });
    const durations: number[] = [];
    for (const policy of [bulkhead, fallback]) {
      policy.onSuccess((e) => durations.push(e.duration));
      policy.onFailure((e) => durations.push(e.duration));
    }
    const slow = async () => {
      await clock.advance(0.6);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return 'ok';
    };
    await bulkhead.execute(slow);
    await fallback.execute(slow);
    await fallback.execute(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw overloaded();
    });
    expect(durations.length).toBe(3);
    expect(durations.every(wholeMs)).toBe(true);
  });
});

describe('limiter events', () => {
  it('waitedMs of onThrottle is whole µs, also for a caller queued again behind a hold', async () => {
    const clock = fractionalClock();
    const limiter = gcra({ key: 'k', limit: 60, periodMs: 60_000, burst: 1, clock });
    const policy = rateLimitPolicy(limiter, { clock });
    const durations: number[] = [];
    const throttled: ThrottleEvent[] = [];
    policy.onThrottle((e) => throttled.push(e));
    policy.onSuccess((e) => durations.push(e.duration));
    await policy.execute(() => 'first');
    const second = policy.execute(() => 'second'); // reserved for +1 s
    await clock.advance(0.3);
    await limiter.holdFor(5000.1234567); // a 429 seen meanwhile: queued again behind it
    await clock.advance(10_000);
    expect(await second).toBe('second');
    expect(throttled).toHaveLength(1);
    expect(throttled[0]!.waitedMs).toBeGreaterThan(5000);
    expect(wholeUs(throttled[0]!.waitedMs)).toBe(true);
    expect(durations.every(wholeMs)).toBe(true);
  });
});

describe('store events', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(await redisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('downForMs of onRecovered is whole ms', async () => {
    const { client, setDown } = switchableClient(redis);
    const store = new RedisStore(client, {
      prefix: uniquePrefix('rounded'),
      onUnavailable: 'fail-open',
      recheckMs: 20,
    });
    const limiter = gcra({ key: 'k', limit: 10, periodMs: 1000, store });
    const recovered = new Promise<RedisRecoveredEvent>((resolve) => store.onRecovered(resolve));
    setDown(true);
    await limiter.tryAcquire();
    setDown(false);
    const { downForMs } = await recovered;
    expect(wholeMs(downForMs)).toBe(true);
  });
});
