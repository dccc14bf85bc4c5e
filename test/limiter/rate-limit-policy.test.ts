import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  handleType,
  retry,
  wrap,
} from 'cockatiel';
import { describe, expect, it } from 'vitest';
import {
  gcra,
  limiterGroup,
  MemoryStore,
  RateLimitExceededError,
  rateLimitPolicy,
  type ThrottleEvent,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

class Flaky extends Error {}

describe('rateLimitPolicy inside cockatiel', () => {
  it('every retry attempt pays the limiter again (retry outside, limiter inside)', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'rpm', limit: 10, periodMs: 1000, burst: 10, clock });
    const policy = wrap(
      retry(handleType(Flaky), { maxAttempts: 2 }),
      rateLimitPolicy(limiter, { clock }),
    );
    let calls = 0;
    const result = await policy.execute(() => {
      calls++;
      if (calls < 3) throw new Flaky();
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect((await limiter.inspect()).available).toBe(7);
  });

  it('an open circuit fails fast without taking quota', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'rpm', limit: 10, periodMs: 1000, clock });
    const breaker = circuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new ConsecutiveBreaker(2),
    });
    const policy = wrap(breaker, rateLimitPolicy(limiter, { clock }));
    for (let i = 0; i < 2; i++) {
      await expect(
        policy.execute(() => {
          throw new Flaky();
        }),
      ).rejects.toBeInstanceOf(Flaky);
    }
    await expect(policy.execute(() => 'never')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect((await limiter.inspect()).available).toBe(8);
  });

  it('emits onThrottle with key, cost and wait, and settles the real cost from the result', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 1, store, clock });
    const otpm = gcra({ key: 'otpm', limit: 6000, periodMs: 60_000, store, clock });
    const policy = rateLimitPolicy(limiterGroup([rpm, otpm]), {
      cost: [1, 1000],
      settle: (result) => [1, (result as { usage: { output_tokens: number } }).usage.output_tokens],
      clock,
    });
    const events: ThrottleEvent[] = [];
    policy.onThrottle((e) => events.push(e));
    const call = () => Promise.resolve({ usage: { output_tokens: 200 } });
    await policy.execute(call);
    expect((await otpm.inspect()).available).toBe(5800);
    const second = policy.execute(call);
    await clock.advance(1000);
    await second;
    expect(events).toEqual([{ key: 'rpm', cost: [1, 1000], waitedMs: 1000 }]);
  });

  it('a wait beyond maxWaitMs rejects with RateLimitExceededError and onFailure', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'rpm', limit: 1, periodMs: 60_000, burst: 1, clock });
    const policy = rateLimitPolicy(limiter, { maxWaitMs: 1000, clock });
    const failures: boolean[] = [];
    policy.onFailure((e) => failures.push(e.handled));
    await policy.execute(() => 1);
    let ran = false;
    const error = await policy
      .execute(() => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitExceededError);
    expect((error as RateLimitExceededError).retryAfterMs).toBe(60_000);
    expect(ran).toBe(false);
    expect(failures).toEqual([true]);
  });

  it('a throwing listener does not break execute()', async () => {
    const limiter = gcra({ key: 'k', limit: 10, periodMs: 1000 });
    const policy = rateLimitPolicy(limiter);
    policy.onSuccess(() => {
      throw new Error('listener bug');
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await expect(policy.execute(() => 'fine')).resolves.toBe('fine');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.some((w) => w.includes('listener bug'))).toBe(true);
  });

  it('an abort while waiting rejects with the reason, the function never runs', async () => {
    const clock = new ManualClock();
    const limiter = gcra({ key: 'k', limit: 1, periodMs: 1000, burst: 1, clock });
    const policy = rateLimitPolicy(limiter, { clock });
    await policy.execute(() => 1);
    const controller = new AbortController();
    let ran = false;
    const pending = policy.execute(() => {
      ran = true;
    }, controller.signal);
    controller.abort(new Error('user cancelled'));
    await expect(pending).rejects.toThrow('user cancelled');
    expect(ran).toBe(false);
  });
});

describe('settle failures', () => {
  it('a settle callback that throws does not fail a call that succeeded', async () => {
    const policy = rateLimitPolicy(gcra({ key: 'k', limit: 10, periodMs: 1000 }), {
      settle: () => {
        throw new Error('bad usage shape');
      },
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await expect(policy.execute(() => 'billed')).resolves.toBe('billed');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.some((w) => w.includes('bad usage shape'))).toBe(true);
  });
});
