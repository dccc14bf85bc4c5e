import Anthropic from '@anthropic-ai/sdk';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { isInvalidConfigError } from '../../src/errors/index.js';
import { MemoryRetryBudget } from '../../src/retry/retry-budget.js';
import { type GiveUpEvent, type RetryEvent, retryPolicy } from '../../src/retry/retry-policy.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

const headers = (h: Record<string, string> = {}) => new Headers(h);
const overloaded = (h: Record<string, string> = {}) =>
  Anthropic.APIError.generate(
    529,
    { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    undefined,
    headers(h),
  );
const rateLimited = (h: Record<string, string> = {}) =>
  Anthropic.APIError.generate(
    429,
    { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
    undefined,
    headers(h),
  );
const badRequest = () =>
  Anthropic.APIError.generate(
    400,
    { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } },
    undefined,
    headers(),
  );
const insufficientQuota = () =>
  OpenAI.APIError.generate(
    429,
    { error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } },
    undefined,
    headers({ 'retry-after': '1' }),
  );

/** A function that fails with the given errors in turn, then returns 'ok'. */
function script(...errors: unknown[]) {
  const calls: { attempt: number; signal: AbortSignal; at: number }[] = [];
  return {
    calls,
    fn:
      (clock: { now(): number }) =>
      async ({ attempt, signal }: { attempt: number; signal: AbortSignal }) => {
        calls.push({ attempt, signal, at: clock.now() });
        const next = errors.shift();
        if (next !== undefined) throw next;
        return 'ok';
      },
  };
}

/** Runs `promise` while advancing the manual clock in steps until it settles. */
async function drive<T>(clock: ManualClock, promise: Promise<T>, stepMs = 10, maxMs = 600_000) {
  let settled = false;
  const guarded = promise.finally(() => {
    settled = true;
  });
  guarded.catch(() => {});
  for (let t = 0; t < maxMs && !settled; t += stepMs) await clock.advance(stepMs);
  return guarded;
}

describe('retryPolicy: how many calls', () => {
  it('maxRetries counts retries: the default 2 makes at most 3 calls, then the original error', async () => {
    const clock = new ManualClock(0);
    const errors = [overloaded(), overloaded(), overloaded(), overloaded()];
    const last = errors[2];
    const s = script(...errors);
    const policy = retryPolicy({ clock, random: () => 1 });
    const giveUps: GiveUpEvent[] = [];
    policy.onGiveUp((e) => giveUps.push(e));
    await expect(drive(clock, policy.execute(s.fn(clock)))).rejects.toBe(last);
    expect(s.calls.map((c) => c.attempt)).toEqual([0, 1, 2]);
    expect(giveUps).toEqual([{ calls: 3, reason: 'max-retries', kind: 'overloaded', error: last }]);
  });

  it('maxRetries: 0 calls once', async () => {
    const clock = new ManualClock(0);
    const s = script(overloaded());
    await expect(retryPolicy({ maxRetries: 0, clock }).execute(s.fn(clock))).rejects.toMatchObject({
      status: 529,
    });
    expect(s.calls).toHaveLength(1);
  });

  it('succeeds after a transient failure and passes the signal and attempt', async () => {
    const clock = new ManualClock(0);
    const s = script(rateLimited());
    const ac = new AbortController();
    const result = await drive(clock, retryPolicy({ clock }).execute(s.fn(clock), ac.signal));
    expect(result).toBe('ok');
    expect(s.calls.map((c) => c.attempt)).toEqual([0, 1]);
    expect(s.calls.every((c) => c.signal === ac.signal)).toBe(true);
  });

  it.each([
    ['400 invalid_request_error', badRequest()],
    ['429 insufficient_quota', insufficientQuota()],
    ['TypeError', new TypeError('undefined is not a function')],
    ['user abort', new Anthropic.APIUserAbortError()],
    ['503 with x-should-retry: false', overloaded({ 'x-should-retry': 'false' })],
  ])('never retries %s', async (_name, error) => {
    const clock = new ManualClock(0);
    const s = script(error);
    const policy = retryPolicy({ clock });
    const giveUps: GiveUpEvent[] = [];
    policy.onGiveUp((e) => giveUps.push(e));
    await expect(policy.execute(s.fn(clock))).rejects.toBe(error);
    expect(s.calls).toHaveLength(1);
    expect(giveUps[0]?.reason).toBe('not-retryable');
  });

  it('retries a 400 the server marks x-should-retry: true', async () => {
    const clock = new ManualClock(0);
    const err = Anthropic.APIError.generate(
      400,
      { type: 'error', error: { type: 'invalid_request_error', message: 'x' } },
      undefined,
      headers({ 'x-should-retry': 'true' }),
    );
    const s = script(err);
    await expect(drive(clock, retryPolicy({ clock }).execute(s.fn(clock)))).resolves.toBe('ok');
    expect(s.calls).toHaveLength(2);
  });
});

describe('retryPolicy: delays', () => {
  it('honours retry-after to the millisecond (injected clock)', async () => {
    const clock = new ManualClock(0);
    const s = script(rateLimited({ 'retry-after': '3' }));
    const events: RetryEvent[] = [];
    const policy = retryPolicy({ clock });
    policy.onRetry((e) => events.push(e));
    const p = policy.execute(s.fn(clock));
    await clock.advance(2999);
    expect(s.calls).toHaveLength(1);
    await clock.advance(1);
    await expect(p).resolves.toBe('ok');
    expect(s.calls[1]?.at).toBe(3000);
    expect(events).toMatchObject([
      { attempt: 1, delayMs: 3000, reason: 'rate-limit', delaySource: 'retry-after' },
    ]);
  });

  it('honours retry-after-ms, OpenAI reset durations and Gemini RetryInfo', async () => {
    const gemini = Object.assign(
      new Error(
        JSON.stringify({
          error: {
            code: 503,
            status: 'UNAVAILABLE',
            details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }],
          },
        }),
      ),
      { status: 503 },
    );
    const openaiReset = OpenAI.APIError.generate(
      429,
      { error: { message: 'x', type: 'requests', code: 'rate_limit_exceeded' } },
      undefined,
      headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20ms' }),
    );
    const clock = new ManualClock(0);
    const s = script(overloaded({ 'retry-after-ms': '120' }), openaiReset, gemini);
    const policy = retryPolicy({ clock, maxRetries: 3 });
    const delays: number[] = [];
    policy.onRetry((e) => delays.push(e.delayMs));
    await expect(drive(clock, policy.execute(s.fn(clock)), 5)).resolves.toBe('ok');
    expect(delays).toEqual([120, 20, 1500]);
    expect(s.calls.map((c) => c.at)).toEqual([0, 120, 140, 1640]);
  });

  it('gives up at once, with the original error, when the advice exceeds maxRetryAfterMs', async () => {
    const clock = new ManualClock(0);
    const err = rateLimited({ 'retry-after': '61' });
    const s = script(err);
    const policy = retryPolicy({ clock });
    const giveUps: GiveUpEvent[] = [];
    policy.onGiveUp((e) => giveUps.push(e));
    await expect(policy.execute(s.fn(clock))).rejects.toBe(err);
    expect(clock.now()).toBe(0);
    expect(s.calls).toHaveLength(1);
    expect(giveUps[0]?.reason).toBe('retry-after-too-long');
  });

  it('without advice, waits a full-jitter delay in [0, min(maxDelayMs, baseDelayMs * 2^n)]', async () => {
    const clock = new ManualClock(0);
    const s = script(overloaded(), overloaded(), overloaded(), overloaded());
    const draws = [0.5, 0.5, 1, 0.25];
    const policy = retryPolicy({
      clock,
      maxRetries: 4,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => draws.shift() ?? 0,
    });
    const delays: number[] = [];
    policy.onRetry((e) => {
      expect(e.delaySource).toBe('backoff');
      delays.push(e.delayMs);
    });
    await expect(drive(clock, policy.execute(s.fn(clock)), 1)).resolves.toBe('ok');
    // ceilings 100, 200, 300 (capped), 300
    expect(delays).toEqual([50, 100, 300, 75]);
    expect(s.calls.map((c) => c.at)).toEqual([0, 50, 150, 450, 525]);
  });
});

describe('retryPolicy: abort', () => {
  it('an abort during the wait rejects at once with the abort reason and never calls again', async () => {
    const clock = new ManualClock(0);
    const s = script(rateLimited({ 'retry-after': '30' }));
    const ac = new AbortController();
    const policy = retryPolicy({ clock });
    const giveUps: GiveUpEvent[] = [];
    policy.onGiveUp((e) => giveUps.push(e));
    const p = policy.execute(s.fn(clock), ac.signal);
    p.catch(() => {});
    await clock.advance(1000);
    expect(s.calls).toHaveLength(1);
    const reason = new Error('user navigated away');
    const abortedAt = clock.now();
    let settledAt = Number.NaN;
    const realStart = performance.now();
    ac.abort(reason);
    await p.catch((e) => {
      settledAt = clock.now();
      expect(e).toBe(reason);
    });
    const realMs = performance.now() - realStart;
    expect(settledAt - abortedAt).toBe(0); // on the injected clock: no waiting at all
    expect(realMs).toBeLessThan(1000); // generous real-time bound (measured well under 1 ms)
    await clock.advance(60_000);
    expect(s.calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
    expect(giveUps[0]?.reason).toBe('aborted');
  });

  it('with the real clock: a 30 s Retry-After wait ends as soon as the signal aborts', async () => {
    const s = script(rateLimited({ 'retry-after': '30' }));
    const ac = new AbortController();
    const p = retryPolicy().execute(s.fn({ now: () => 0 }), ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 20);
    const start = performance.now();
    await expect(p).rejects.toThrow('stop');
    expect(performance.now() - start).toBeLessThan(5000);
    expect(s.calls).toHaveLength(1);
  });

  it('an already aborted signal makes no call', async () => {
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    const s = script();
    await expect(retryPolicy().execute(s.fn({ now: () => 0 }), ac.signal)).rejects.toThrow('gone');
    expect(s.calls).toHaveLength(0);
  });

  it('an error thrown because the call was aborted is not retried', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const err = overloaded();
    const policy = retryPolicy({ clock });
    let calls = 0;
    const p = policy.execute(async () => {
      calls++;
      ac.abort();
      throw err;
    }, ac.signal);
    await expect(p).rejects.toBe(err);
    expect(calls).toBe(1);
  });
});

describe('retryPolicy: budget, events, options', () => {
  it('a retry budget caps retries to a share of calls (in process)', async () => {
    const clock = new ManualClock(0);
    const budget = new MemoryRetryBudget({ clock, ratio: 0.2, minRetries: 1, windowMs: 10_000 });
    const policy = retryPolicy({ clock, budget, maxRetries: 2, random: () => 0 });
    const reasons: string[] = [];
    policy.onGiveUp((e) => reasons.push(e.reason));
    let calls = 0;
    const failing = async () => {
      calls++;
      throw overloaded();
    };
    for (let i = 0; i < 10; i++) {
      await expect(drive(clock, policy.execute(failing), 1)).rejects.toMatchObject({ status: 529 });
    }
    // 10 logical calls: at most 1 + 0.2 * 10 = 3 retries in the window
    expect(calls).toBe(10 + 3);
    expect(reasons.filter((r) => r === 'budget-exhausted').length).toBeGreaterThanOrEqual(8);
    expect(await budget.inspect()).toMatchObject({ calls: 10, retries: 3 });
    expect(policy.inspect()).toEqual({ maxRetries: 2, retriesInWindow: 3 });
    // the window slides: 10 s later the budget is fresh
    await clock.advance(10_001);
    expect(await budget.inspect()).toMatchObject({ calls: 0, retries: 0 });
  });

  it('a throwing listener never breaks execute()', async () => {
    const clock = new ManualClock(0);
    const policy = retryPolicy({ clock, random: () => 0 });
    let seen = 0;
    policy.onRetry(() => {
      throw new Error('listener bug');
    });
    policy.onRetry(() => seen++);
    policy.onSuccess(() => {
      throw new Error('listener bug');
    });
    const s = script(overloaded());
    await expect(drive(clock, policy.execute(s.fn(clock)))).resolves.toBe('ok');
    expect(seen).toBe(1);
  });

  it('listeners are disposable', async () => {
    const clock = new ManualClock(0);
    const policy = retryPolicy({ clock, random: () => 0 });
    let seen = 0;
    const d = policy.onRetry(() => seen++);
    d.dispose();
    await drive(clock, policy.execute(script(overloaded()).fn(clock)));
    expect(seen).toBe(0);
  });

  it.each([
    [{ maxRetries: -1 }, 'maxRetries'],
    [{ maxRetries: 1.5 }, 'maxRetries'],
    [{ baseDelayMs: 1000, maxDelayMs: 10 }, 'maxDelayMs'],
    [{ maxRetryAfterMs: Number.NaN }, 'maxRetryAfterMs'],
    [{ baseDelayMs: -5 }, 'baseDelayMs'],
  ])('refuses %o naming %s', (options, option) => {
    try {
      retryPolicy(options);
      expect.unreachable();
    } catch (error) {
      expect(isInvalidConfigError(error)).toBe(true);
      expect((error as Error).message).toContain(`\`${option}\``);
    }
  });
});

describe('retryPolicy inside cockatiel wrap', () => {
  it('composes with cockatiel timeout and circuit breaker', async () => {
    const clock = new ManualClock(0);
    const retry = retryPolicy({ clock, random: () => 0 });
    const breaker = circuitBreaker(handleAll, {
      halfOpenAfter: 10_000,
      breaker: new ConsecutiveBreaker(5),
    });
    const t = timeout(5_000, TimeoutStrategy.Aggressive);
    const attempts: number[] = [];
    const result = await drive(
      clock,
      wrap(retry, breaker, t).execute(async ({ attempt, signal }) => {
        attempts.push(attempt);
        expect(signal).toBeInstanceOf(AbortSignal);
        if (attempt < 2) throw overloaded();
        return 'done';
      }),
    );
    expect(result).toBe('done');
    expect(attempts).toEqual([0, 1, 2]);
  });
});
