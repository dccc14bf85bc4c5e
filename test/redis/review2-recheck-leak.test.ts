/**
 * The recheck timer holds its store weakly (docs/redis.md): a store dropped while Redis is down
 * is collected, and its timer then stops probing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { gcra, type RedisScriptClient, RedisStore } from '../../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the recheck timer of a dropped store', () => {
  it('does not keep the store alive', async () => {
    let probes = 0;
    const refused = () => {
      probes++;
      return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    };
    const client: RedisScriptClient = {
      evalsha: refused,
      eval: refused,
      ping: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
    };
    let ref: WeakRef<RedisStore> | undefined;
    await (async () => {
      const store = new RedisStore(client, { recheckMs: 20, timeoutMs: 50 });
      ref = new WeakRef(store);
      const limiter = gcra({ key: 'rpm', limit: 1, periodMs: 1000, store });
      await limiter.tryAcquire().catch(() => undefined);
      expect(store.available).toBe(false);
    })();
    for (let i = 0; i < 10 && ref?.deref() !== undefined; i++) {
      await sleep(30);
      gc();
    }
    expect(ref?.deref()).toBeUndefined();
    await sleep(60); // a tick that finds the store gone clears the timer
    const after = probes;
    await sleep(200);
    expect(probes).toBe(after);
  });
});
