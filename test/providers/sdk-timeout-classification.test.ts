/**
 * An abort the caller did not ask for is a timeout, retryable (issue 11): the real SDKs' own
 * `timeout` against a slow simulator, and a `@google/genai`-style per-attempt AbortController
 * whose bare `AbortError` only the caller's live signal tells apart from a cancellation.
 * Real time, with wide margins: the simulator's first byte is 3 s away, the timeouts 150 ms.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/providers/classify.js';
import { anthropicClient, openaiClient, rejectionOf, start } from '../simulator/helpers.js';

const SLOW = { faults: { rates: { slow_first_byte: 1 }, slowFirstByteMs: 3000 } } as const;
const params = { max_tokens: 5, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('the SDK’s own per-attempt timeout', () => {
  it('Anthropic: APIConnectionTimeoutError is a retryable timeout while the caller’s signal is live', async () => {
    const sim = await start({ provider: 'anthropic', ...SLOW });
    const caller = new AbortController();
    const error = await rejectionOf(
      anthropicClient(sim, { timeout: 150 }).messages.create(
        { model: 'claude-sonnet-4-6', ...params },
        { signal: caller.signal },
      ),
    );
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    const expected = { kind: 'timeout', retryable: true, providerFailure: true };
    expect(classifyError(error)).toMatchObject(expected);
    expect(classifyError(error, { signal: caller.signal })).toMatchObject(expected);
  });

  it('OpenAI: the same', async () => {
    const sim = await start({ provider: 'openai', ...SLOW });
    const caller = new AbortController();
    const error = await rejectionOf(
      openaiClient(sim, { timeout: 150 }).chat.completions.create(
        { model: 'gpt-4o', ...params },
        { signal: caller.signal },
      ),
    );
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(classifyError(error, { signal: caller.signal })).toMatchObject({
      kind: 'timeout',
      retryable: true,
    });
  });

  it('the caller’s own abort stays a cancellation, never retried', async () => {
    const sim = await start({ provider: 'anthropic', ...SLOW });
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 150);
    const error = await rejectionOf(
      anthropicClient(sim, { timeout: 60_000 }).messages.create(
        { model: 'claude-sonnet-4-6', ...params },
        { signal: caller.signal },
      ),
    );
    expect(error).toBeInstanceOf(Anthropic.APIUserAbortError);
    expect(classifyError(error, { signal: caller.signal })).toMatchObject({
      kind: 'cancelled',
      retryable: false,
    });
  });
});

describe('a bare AbortError from a per-attempt controller (as @google/genai’s httpOptions.timeout)', () => {
  /** One attempt as genai makes it: its own controller, aborted without a reason after `ms`. */
  async function attempt(url: string, caller: AbortSignal, ms: number): Promise<unknown> {
    const perAttempt = new AbortController();
    const timer = setTimeout(() => perAttempt.abort(), ms);
    try {
      await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer test', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', ...params }),
        signal: AbortSignal.any([caller, perAttempt.signal]),
      });
    } catch (error) {
      return error;
    } finally {
      clearTimeout(timer);
    }
    throw new Error('expected the attempt to be aborted');
  }

  it('is a retryable timeout when the caller’s signal is live, a cancellation when it aborted', async () => {
    const sim = await start({ provider: 'openai', ...SLOW });
    const caller = new AbortController();
    const timedOut = await attempt(sim.url, caller.signal, 150);
    expect((timedOut as Error).name).toBe('AbortError');
    // Without the caller's signal nothing tells the two apart: the safe reading is a cancellation.
    expect(classifyError(timedOut).kind).toBe('cancelled');
    expect(classifyError(timedOut, { signal: caller.signal })).toMatchObject({
      kind: 'timeout',
      retryable: true,
      providerFailure: true,
    });

    setTimeout(() => caller.abort(), 100);
    const cancelled = await attempt(sim.url, caller.signal, 60_000);
    expect((cancelled as Error).name).toBe('AbortError');
    expect(classifyError(cancelled, { signal: caller.signal })).toMatchObject({
      kind: 'cancelled',
      retryable: false,
    });
  });
});
