/**
 * `onGiveUp` says what ended the retries in terms a dashboard can count: an open circuit is
 * `circuit-open`, and a caller's abort is `cancelled` whatever reason it was given.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  circuitBreakerPolicy,
  classifyError,
  type GiveUpEvent,
  IsolatedCircuitError,
  retryPolicy,
  wrap,
} from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

const overloaded = () =>
  Anthropic.APIError.generate(
    529,
    { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    undefined,
    new Headers(),
  );

function giveUps(policy: ReturnType<typeof retryPolicy>): GiveUpEvent[] {
  const events: GiveUpEvent[] = [];
  policy.onGiveUp((e) => events.push(e));
  return events;
}

describe('the kind of error that ended the retries', () => {
  it('an open circuit is circuit-open, and is not retried', async () => {
    const retry = retryPolicy({ clock: new ManualClock() });
    const breaker = circuitBreakerPolicy();
    const events = giveUps(retry);
    const isolation = breaker.isolate();
    let calls = 0;
    await expect(
      wrap(retry, breaker).execute(() => {
        calls++;
        return 'never';
      }),
    ).rejects.toBeInstanceOf(BrokenCircuitError);
    isolation.dispose();
    expect(calls).toBe(0);
    expect(events).toMatchObject([{ reason: 'not-retryable', kind: 'circuit-open', calls: 1 }]);
  });

  it('classifyError calls open and isolated circuits circuit-open, neither transient nor retryable', () => {
    for (const error of [new BrokenCircuitError(), new IsolatedCircuitError()]) {
      expect(classifyError(error)).toMatchObject({
        kind: 'circuit-open',
        transient: false,
        retryable: false,
        providerFailure: false,
      });
    }
  });

  it.each([
    ['an Error', new Error('the user left')],
    ['a string', 'the user left'],
  ])('an abort during the wait with %s as reason is cancelled', async (_, reason) => {
    const clock = new ManualClock();
    const retry = retryPolicy({ clock, random: () => 1 });
    const events = giveUps(retry);
    const controller = new AbortController();
    const running = retry.execute(() => Promise.reject(overloaded()), controller.signal);
    const outcome = running.catch((e: unknown) => e);
    await clock.advance(10);
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(events).toMatchObject([{ reason: 'aborted', kind: 'cancelled' }]);
  });

  it('a call that rethrows the abort reason itself is cancelled', async () => {
    const retry = retryPolicy({ clock: new ManualClock() });
    const events = giveUps(retry);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    await expect(
      retry.execute(({ signal }) => {
        controller.abort(reason);
        signal.throwIfAborted();
        return 'never';
      }, controller.signal),
    ).rejects.toBe(reason);
    expect(events).toMatchObject([{ reason: 'aborted', kind: 'cancelled' }]);
  });
});
