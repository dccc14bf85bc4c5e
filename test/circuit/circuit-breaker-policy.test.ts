import Anthropic from '@anthropic-ai/sdk';
import {
  BrokenCircuitError,
  ConstantBackoff,
  fallback,
  handleAll,
  handleWhen,
  isBrokenCircuitError,
  retry,
  wrap,
} from 'cockatiel';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type CircuitBreakerPolicy,
  circuitBreakerPolicy,
} from '../../src/circuit/circuit-breaker-policy.js';
import type { CircuitSnapshot } from '../../src/circuit/circuit-snapshot.js';
import { describeFailure, scrubSecrets } from '../../src/circuit/circuit-snapshot.js';
import { isInvalidConfigError } from '../../src/errors/index.js';

// cockatiel's breaker reads Date.now(): fake only Date, and give our policy the same clock.
const clock = { now: () => Date.now() };
const T0 = Date.UTC(2025, 0, 1);
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

const err = (status: number, type: string, message = 'boom') =>
  Anthropic.APIError.generate(
    status,
    { type: 'error', error: { type, message } },
    undefined,
    new Headers(),
  );
const fail = (e: unknown) => async () => {
  throw e;
};

async function failTimes(policy: CircuitBreakerPolicy, n: number, e: unknown) {
  for (let i = 0; i < n; i++) await policy.execute(fail(e)).catch(() => {});
}

describe('circuitBreakerPolicy (local)', () => {
  it('opens after 5 consecutive provider failures, then fails fast without calling', async () => {
    const policy = circuitBreakerPolicy({ clock });
    await failTimes(policy, 4, err(529, 'overloaded_error'));
    expect(policy.inspect().state).toBe('closed');
    await failTimes(policy, 1, err(500, 'api_error'));
    expect(policy.inspect()).toMatchObject({ state: 'open', since: T0 });
    let called = false;
    await expect(
      policy.execute(() => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(called).toBe(false);
  });

  it('counts timeouts and connection errors, not 429s, client errors or programming errors', async () => {
    const policy = circuitBreakerPolicy({ clock, consecutiveFailures: 2 });
    for (const e of [
      err(429, 'rate_limit_error'),
      err(400, 'invalid_request_error'),
      err(401, 'authentication_error'),
      new TypeError('x is undefined'),
      new Anthropic.APIUserAbortError(),
    ]) {
      await failTimes(policy, 5, e);
    }
    expect(policy.inspect().state).toBe('closed');
    await failTimes(policy, 1, new Anthropic.APIConnectionTimeoutError());
    await failTimes(policy, 1, new OpenAI.APIConnectionError({ message: 'ECONNRESET' }));
    expect(policy.inspect().state).toBe('open');
  });

  it('a success resets the consecutive count', async () => {
    const policy = circuitBreakerPolicy({ clock, consecutiveFailures: 3 });
    await failTimes(policy, 2, err(503, 'api_error'));
    await policy.execute(() => 'ok');
    await failTimes(policy, 2, err(503, 'api_error'));
    expect(policy.inspect().state).toBe('closed');
  });

  it('half-opens after halfOpenAfterMs: a successful probe closes, a failed one re-opens', async () => {
    const policy = circuitBreakerPolicy({ clock, consecutiveFailures: 1, halfOpenAfterMs: 30_000 });
    const events: CircuitSnapshot[] = [];
    policy.onStateChange((s) => events.push(s));
    await failTimes(policy, 1, err(503, 'api_error'));
    vi.setSystemTime(T0 + 29_999);
    await expect(policy.execute(() => 'x')).rejects.toBeInstanceOf(BrokenCircuitError);
    vi.setSystemTime(T0 + 30_000);
    await failTimes(policy, 1, err(503, 'api_error', 'still down'));
    expect(policy.inspect()).toMatchObject({ state: 'open', since: T0 + 30_000 });
    vi.setSystemTime(T0 + 60_000);
    await expect(policy.execute(() => 'back')).resolves.toBe('back');
    expect(policy.inspect()).toMatchObject({ state: 'closed', since: T0 + 60_000 });
    expect(events.map((e) => [e.state, e.since - T0])).toEqual([
      ['open', 0],
      ['half-open', 30_000],
      ['open', 30_000],
      ['half-open', 60_000],
      ['closed', 60_000],
    ]);
    expect(events[0]?.lastFailure).toEqual({
      name: 'ServiceUnavailableError',
      status: 503,
      message: 'boom',
    });
  });

  it('can open on a failure rate with the sampling breaker', async () => {
    const policy = circuitBreakerPolicy({
      clock,
      sampling: { threshold: 0.5, durationMs: 10_000, minimumRps: 1 },
    });
    for (let i = 0; i < 10; i++) {
      await policy.execute(() => 'ok');
      await failTimes(policy, 1, err(502, 'api_error'));
    }
    await failTimes(policy, 1, err(502, 'api_error'));
    expect(policy.inspect().state).toBe('open');
  });

  it('half-open sampling lets several probe calls decide (cockatiel halfOpenSampling)', async () => {
    const policy = circuitBreakerPolicy({
      clock,
      consecutiveFailures: 1,
      halfOpenAfterMs: 1000,
      halfOpenSampling: { calls: 2, threshold: 0.5 },
    });
    await failTimes(policy, 1, err(503, 'api_error'));
    vi.setSystemTime(T0 + 1000);
    await policy.execute(() => 'first probe ok');
    expect(policy.inspect().state).toBe('half-open');
    await failTimes(policy, 1, err(503, 'api_error')); // 1 of 2 failed: not above 50 %
    expect(policy.inspect().state).toBe('closed');
  });

  it('isolate() holds it isolated', async () => {
    const policy = circuitBreakerPolicy({ clock });
    const handle = policy.isolate();
    expect(policy.inspect().state).toBe('isolated');
    await expect(policy.execute(() => 1)).rejects.toSatisfy(isBrokenCircuitError);
    handle.dispose();
    expect(policy.inspect().state).toBe('closed');
  });

  it('a custom isFailure decides what counts', async () => {
    const policy = circuitBreakerPolicy({
      clock,
      consecutiveFailures: 2,
      isFailure: (e) => (e as { status?: number }).status === 429,
    });
    await failTimes(policy, 2, err(429, 'rate_limit_error'));
    expect(policy.inspect().state).toBe('open');
  });

  it('a throwing state listener never breaks execute()', async () => {
    const policy = circuitBreakerPolicy({ clock, consecutiveFailures: 1 });
    policy.onStateChange(() => {
      throw new Error('listener bug');
    });
    const e = err(500, 'api_error');
    await expect(policy.execute(fail(e))).rejects.toBe(e);
    expect(policy.inspect().state).toBe('open');
  });

  it.each([
    [{ consecutiveFailures: 0 }, 'consecutiveFailures'],
    [{ halfOpenAfterMs: -1 }, 'halfOpenAfterMs'],
    [{ sampling: { threshold: 2, durationMs: 1000 } }, 'sampling.threshold'],
  ])('refuses %o', (options, option) => {
    expect(() => circuitBreakerPolicy(options)).toThrow(`\`${option}\``);
    try {
      circuitBreakerPolicy(options);
    } catch (e) {
      expect(isInvalidConfigError(e)).toBe(true);
    }
  });
});

describe('inspect(): JSON-safe, no keys, no prompt text', () => {
  it('scrubs keys and truncates the message', async () => {
    const key = 'sk-ant-api03-AbCdEf0123456789_xyzXYZ-abcdef';
    const long = `upstream said: invalid x-api-key ${key} and sk-proj-ABCDEFGHIJ1234567890 ${'x'.repeat(500)}`;
    const policy = circuitBreakerPolicy({ clock, consecutiveFailures: 1 });
    const prompt = 'my secret prompt text';
    await policy
      .execute(async () => {
        const e = err(500, 'api_error', long);
        Object.assign(e, { request: { messages: [{ role: 'user', content: prompt }] } });
        throw e;
      })
      .catch(() => {});
    const snap = policy.inspect();
    const json = JSON.stringify(snap);
    expect(JSON.parse(json)).toEqual(snap);
    expect(json).not.toContain('sk-ant-api03');
    expect(json).not.toContain('ABCDEFGHIJ1234567890');
    expect(json).not.toContain(prompt);
    expect(snap.lastFailure?.message.length).toBeLessThanOrEqual(200);
    expect(snap.lastFailure?.message).toContain('[redacted]');
    expect(snap.lastFailure?.status).toBe(500);
  });

  it('scrubSecrets and describeFailure', () => {
    expect(scrubSecrets('Authorization: Bearer abcdefghijklmnop')).not.toContain(
      'abcdefghijklmnop',
    );
    expect(scrubSecrets('retry later (request req_123)')).toBe('retry later (request req_123)');
    expect(scrubSecrets('url?key=AIzaSyA-1234567890abcdefghijklmnopqrstu&x=1')).not.toContain(
      'AIza',
    );
    expect(describeFailure(new TypeError('bad\nsecond line'))).toEqual({
      name: 'TypeError',
      message: 'bad',
    });
    expect(describeFailure(new OpenAI.APIConnectionError({ message: 'conn' })).name).toBe(
      'APIConnectionError',
    );
  });
});

describe('circuitBreakerPolicy inside cockatiel wrap', () => {
  it('sits between cockatiel retry and fallback', async () => {
    const breaker = circuitBreakerPolicy({ clock, consecutiveFailures: 2 });
    const policy = wrap(
      fallback(handleWhen(isBrokenCircuitError), 'fallback'),
      retry(handleAll, { maxAttempts: 5, backoff: new ConstantBackoff(0) }),
      breaker,
    );
    let calls = 0;
    const result = await policy.execute(async () => {
      calls++;
      throw err(503, 'api_error');
    });
    // two calls open the breaker; cockatiel's retry then meets BrokenCircuitError until
    // its attempts run out and cockatiel's fallback answers.
    expect(result).toBe('fallback');
    expect(calls).toBe(2);
    expect(breaker.inspect().state).toBe('open');
  });
});
