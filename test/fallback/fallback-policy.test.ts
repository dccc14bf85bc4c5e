import Anthropic from '@anthropic-ai/sdk';
import {
  BulkheadRejectedError,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { circuitBreakerPolicy } from '../../src/circuit/circuit-breaker-policy.js';
import { bulkheadPolicy } from '../../src/concurrency/bulkhead-policy.js';
import { isInvalidConfigError, RateLimitExceededError } from '../../src/errors/index.js';
import { fallbackPolicy, shouldFallback } from '../../src/fallback/fallback-policy.js';
import { retryPolicy } from '../../src/retry/retry-policy.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

const anthropic = (status: number, type: string) =>
  Anthropic.APIError.generate(
    status,
    { type: 'error', error: { type, message: 'x' } },
    undefined,
    new Headers(),
  );
const openai = (status: number, code: string | null, type: string) =>
  OpenAI.APIError.generate(
    status,
    { error: { message: 'x', code, type } },
    undefined,
    new Headers(),
  );

async function openCircuitError(): Promise<unknown> {
  const breaker = circuitBreakerPolicy({ consecutiveFailures: 1 });
  await breaker
    .execute(() => {
      throw anthropic(503, 'api_error');
    })
    .catch(() => {});
  return breaker.execute(() => 'x').catch((e: unknown) => e);
}

async function fullBulkheadError(): Promise<unknown> {
  const bulkhead = bulkheadPolicy({ maxConcurrent: 1, maxQueue: 0 });
  let release!: () => void;
  const running = bulkhead.execute(() => new Promise<void>((r) => (release = r)));
  const error = await bulkhead.execute(() => 'x').catch((e: unknown) => e);
  release();
  await running;
  return error;
}

describe('fallbackPolicy: the default whitelist', () => {
  it.each([
    ['429 rate limit', () => anthropic(429, 'rate_limit_error')],
    ['529 overloaded', () => anthropic(529, 'overloaded_error')],
    ['500', () => openai(500, null, 'server_error')],
    ['503', () => anthropic(503, 'api_error')],
    ['connection error', () => new OpenAI.APIConnectionError({ message: 'reset' })],
    ['timeout', () => new Anthropic.APIConnectionTimeoutError()],
    ['cockatiel timeout', () => new TaskCancelledError('Operation timed out after 10ms')],
    ['limiter wait above maxWaitMs', () => new RateLimitExceededError('anthropic:rpm', 5000, 1000)],
    ['cockatiel BulkheadRejectedError', () => new BulkheadRejectedError(1, 0)],
  ])('falls back on %s, and `to` sees the error', async (_name, make) => {
    const error = make();
    const seen: unknown[] = [];
    const policy = fallbackPolicy({
      to: (e) => {
        seen.push(e);
        return 'backup';
      },
    });
    await expect(
      policy.execute(() => {
        throw error;
      }),
    ).resolves.toBe('backup');
    expect(seen).toEqual([error]);
  });

  it('falls back on an open circuit and a full bulkhead made by our own policies', async () => {
    const policy = fallbackPolicy({ to: () => 'backup' });
    for (const error of [await openCircuitError(), await fullBulkheadError()]) {
      expect(shouldFallback(error)).toBe(true);
      await expect(
        policy.execute(() => {
          throw error;
        }),
      ).resolves.toBe('backup');
    }
  });

  it.each([
    ['400', () => anthropic(400, 'invalid_request_error')],
    ['401', () => anthropic(401, 'authentication_error')],
    ['403', () => openai(403, null, 'permission_error')],
    ['404', () => anthropic(404, 'not_found_error')],
    ['413', () => anthropic(413, 'request_too_large')],
    ['422', () => openai(422, null, 'invalid_request_error')],
    ['insufficient_quota', () => openai(429, 'insufficient_quota', 'insufficient_quota')],
    ['billing_error', () => anthropic(400, 'billing_error')],
    ['TypeError', () => new TypeError('cannot read properties of undefined')],
    ['RangeError', () => new RangeError('bad')],
    ['user abort', () => new Anthropic.APIUserAbortError()],
    ['AbortError', () => new DOMException('aborted', 'AbortError')],
  ])('never falls back on %s: the error passes through', async (_name, make) => {
    const error = make();
    let used = false;
    const policy = fallbackPolicy({
      to: () => {
        used = true;
        return 'backup';
      },
    });
    await expect(
      policy.execute(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(used).toBe(false);
  });

  it('never falls back once the caller aborted, even if `on` says yes', async () => {
    const ac = new AbortController();
    const error = anthropic(529, 'overloaded_error');
    const policy = fallbackPolicy({ to: () => 'backup', on: () => true });
    await expect(
      policy.execute(() => {
        ac.abort();
        throw error;
      }, ac.signal),
    ).rejects.toBe(error);
  });

  it('a custom `on` decides; onFallback reports the kind; a throwing listener is harmless', async () => {
    const policy = fallbackPolicy({
      to: async (e) => `backup for ${(e as Error).message}`,
      on: (e) => e instanceof RangeError,
    });
    const events: unknown[] = [];
    policy.onFallback((e) => events.push(e.kind));
    policy.onFallback(() => {
      throw new Error('listener bug');
    });
    await expect(
      policy.execute(() => {
        throw new RangeError('r');
      }),
    ).resolves.toBe('backup for r');
    await expect(
      policy.execute(() => {
        throw anthropic(529, 'overloaded_error');
      }),
    ).rejects.toMatchObject({ status: 529 });
    expect(events).toEqual(['unknown']);
    await expect(policy.execute(() => 'primary')).resolves.toBe('primary');
  });

  it('refuses a missing `to`', () => {
    try {
      fallbackPolicy({} as never);
      expect.unreachable();
    } catch (e) {
      expect(isInvalidConfigError(e)).toBe(true);
    }
  });
});

describe('the whole pipeline in cockatiel wrap', () => {
  it('fallback -> retry -> breaker -> bulkhead -> cockatiel timeout: backup only after retries of a transient error', async () => {
    const clock = new ManualClock(0);
    const make = () =>
      wrap(
        fallbackPolicy({
          to: (e) => ({ from: 'backup', status: (e as { status?: number }).status }),
        }),
        retryPolicy({ clock, maxRetries: 2, random: () => 0 }),
        circuitBreakerPolicy({ consecutiveFailures: 10 }),
        bulkheadPolicy({ maxConcurrent: 2 }),
        timeout(10_000, TimeoutStrategy.Aggressive),
      );
    let calls = 0;
    const overloaded = await make().execute(async () => {
      calls++;
      throw anthropic(529, 'overloaded_error');
    });
    expect(overloaded).toEqual({ from: 'backup', status: 529 });
    expect(calls).toBe(3);

    calls = 0;
    const bad = anthropic(400, 'invalid_request_error');
    await expect(
      make().execute(async () => {
        calls++;
        throw bad;
      }),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);

    await expect(
      make().execute(async ({ signal }) => (signal.aborted ? 'no' : 'primary')),
    ).resolves.toBe('primary');
  });
});
