/**
 * A half-open probe whose caller aborts says nothing about the provider: the local breaker must
 * not close on it (cockatiel counts an error it does not handle as a success while half-open).
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { circuitBreakerPolicy } from '../../src/circuit/circuit-breaker-policy.js';
import { anthropicOutage as outage, sleep } from '../support/real-time.js';

describe('local circuit breaker: an aborted half-open probe', () => {
  it('does not close the circuit; a later probe decides', async () => {
    const policy = circuitBreakerPolicy({ consecutiveFailures: 1, halfOpenAfterMs: 50 });
    await policy.execute(() => Promise.reject(outage())).catch(() => {});
    expect(policy.inspect().state).toBe('open');
    await sleep(300); // well past halfOpenAfterMs
    const controller = new AbortController();
    await expect(
      policy.execute(async () => {
        controller.abort();
        throw new Anthropic.APIUserAbortError();
      }, controller.signal),
    ).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    expect(policy.inspect().state).not.toBe('closed');
    // The failure the circuit reports is still the provider's, not the caller's abort.
    expect(policy.inspect().lastFailure?.status).toBe(503);
    await sleep(300);
    await expect(policy.execute(() => 'up again')).resolves.toBe('up again');
    expect(policy.inspect().state).toBe('closed');
  });
});
