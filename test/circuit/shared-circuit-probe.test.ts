import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { circuitBreakerPolicy } from '../../src/circuit/circuit-breaker-policy.js';
import { anthropicOutage as outage, sleep } from '../support/real-time.js';
import { uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

describe('shared circuit: a probe the caller aborts decides nothing', () => {
  const shared = sharedRedis();

  it('does not close the circuit for every worker, and another worker may probe at once', async () => {
    const redis = shared();
    const key = `${uniquePrefix('circuit-abort-probe')}:anthropic`;
    const options = { consecutiveFailures: 1, halfOpenAfterMs: 100 };
    const a = circuitBreakerPolicy({ ...options, shared: { redis, key, probeLeaseMs: 60_000 } });
    const b = circuitBreakerPolicy({ ...options, shared: { redis, key, probeLeaseMs: 60_000 } });
    try {
      await a.execute(() => Promise.reject(outage())).catch(() => {});
      // The open is published in the background (a first EVALSHA may meet NOSCRIPT, e.g. after
      // another test's SCRIPT FLUSH, and be resent): wait for it rather than race it.
      for (let i = 0; i < 100 && (await redis.hget(key, 'state')) !== 'open'; i++) await sleep(20);
      expect(await redis.hget(key, 'state')).toBe('open');
      await sleep(1000); // well past halfOpenAfterMs, even on a loaded machine

      // Worker A is granted the probe; its caller goes away before the provider answers.
      const controller = new AbortController();
      let probed = false;
      await expect(
        a.execute(async () => {
          probed = true;
          controller.abort();
          throw new Anthropic.APIUserAbortError();
        }, controller.signal),
      ).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
      expect(probed).toBe(true);

      // Nothing was learnt about the provider: the shared circuit is still open...
      expect(await redis.hget(key, 'state')).toBe('open');
      expect(a.inspect().state).not.toBe('closed');

      // ...and the abandoned probe lease (60 s) does not keep the other workers waiting: B probes
      // as soon as its own view is half-open (within a few sync intervals, far below 60 s).
      let bProbed = false;
      const deadline = Date.now() + 5000;
      while (!bProbed && Date.now() < deadline) {
        await b
          .execute(() => {
            bProbed = true;
            return Promise.reject(outage());
          })
          .catch(() => {});
        if (!bProbed) await sleep(50);
      }
      expect(bProbed).toBe(true);
      expect(await redis.hget(key, 'state')).toBe('open');
    } finally {
      a.dispose();
      b.dispose();
      await redis.del(key);
    }
  });
});
