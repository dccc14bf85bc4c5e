/**
 * An SDK that times an attempt out by aborting its own fetch (`@google/genai`'s
 * `httpOptions.timeout`) throws a bare `AbortError` while the caller's signal is still live:
 * retryPolicy retries it as a timeout. The caller's own abort is never retried.
 */
import { describe, expect, it } from 'vitest';
import { retryPolicy } from '../../src/index.js';

const abortError = () => new DOMException('This operation was aborted', 'AbortError');

describe('retryPolicy and aborts it did not ask for', () => {
  it("retries a bare AbortError while the caller's signal is live", async () => {
    const policy = retryPolicy({ maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 });
    const caller = new AbortController();
    let calls = 0;
    const value = await policy.execute(() => {
      calls++;
      if (calls < 3) throw abortError();
      return 'ok';
    }, caller.signal);
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it("never retries once the caller's signal has aborted", async () => {
    const policy = retryPolicy({ maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 });
    const caller = new AbortController();
    let calls = 0;
    await expect(
      policy.execute(() => {
        calls++;
        caller.abort();
        throw abortError();
      }, caller.signal),
    ).rejects.toBeDefined();
    expect(calls).toBe(1);
  });

  it('without a caller signal, an AbortError stays a cancellation', async () => {
    const policy = retryPolicy({ maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 });
    let calls = 0;
    await expect(
      policy.execute(() => {
        calls++;
        throw abortError();
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(1);
  });
});
