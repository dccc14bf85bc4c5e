import {
  ConstantBackoff,
  handleAll,
  isBulkheadRejectedError,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { bulkheadPolicy } from '../../src/concurrency/bulkhead-policy.js';
import { isInvalidConfigError } from '../../src/errors/index.js';

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('bulkheadPolicy (local)', () => {
  it('runs maxConcurrent at once, queues up to maxQueue, rejects the rest with BulkheadRejectedError', async () => {
    const policy = bulkheadPolicy({ maxConcurrent: 2, maxQueue: 1 });
    const rejects: unknown[] = [];
    policy.onReject((e) => rejects.push(e));
    const g = gate();
    const started: number[] = [];
    const run = (i: number) =>
      policy.execute(async () => {
        started.push(i);
        await g.promise;
        return i;
      });
    const a = run(1);
    const b = run(2);
    const c = run(3);
    await tick();
    expect(policy.inspect()).toEqual({ executing: 2, queued: 1 });
    expect(started).toEqual([1, 2]);
    const rejected = run(4);
    await expect(rejected).rejects.toSatisfy(isBulkheadRejectedError);
    expect(rejects).toEqual([{ maxConcurrent: 2, maxQueue: 1 }]);
    g.open();
    await expect(Promise.all([a, b, c])).resolves.toEqual([1, 2, 3]);
    expect(started).toEqual([1, 2, 3]);
    expect(policy.inspect()).toEqual({ executing: 0, queued: 0 });
  });

  it('serves the queue in order as places free up', async () => {
    const policy = bulkheadPolicy({ maxConcurrent: 1, maxQueue: 10 });
    const order: number[] = [];
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g, i) =>
      policy.execute(async () => {
        order.push(i);
        await g.promise;
      }),
    );
    await tick();
    expect(order).toEqual([0]);
    gates[0]?.open();
    await runs[0];
    await tick();
    expect(order).toEqual([0, 1]);
    gates[1]?.open();
    gates[2]?.open();
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2]);
  });

  it('an abort while queued rejects at once with the reason and frees the queue place', async () => {
    const policy = bulkheadPolicy({ maxConcurrent: 1, maxQueue: 1 });
    const g = gate();
    const running = policy.execute(() => g.promise);
    const ac = new AbortController();
    let called = false;
    const queued = policy.execute(() => {
      called = true;
    }, ac.signal);
    await tick();
    expect(policy.inspect()).toEqual({ executing: 1, queued: 1 });
    const reason = new Error('caller gave up');
    ac.abort(reason);
    await expect(queued).rejects.toBe(reason);
    expect(policy.inspect()).toEqual({ executing: 1, queued: 0 });
    // the freed place can be taken again
    const next = policy.execute(() => 'next');
    await tick();
    expect(policy.inspect().queued).toBe(1);
    g.open();
    await running;
    await expect(next).resolves.toBe('next');
    expect(called).toBe(false);
  });

  it('an already aborted signal never enters', async () => {
    const policy = bulkheadPolicy({ maxConcurrent: 1 });
    const ac = new AbortController();
    ac.abort(new Error('no'));
    await expect(policy.execute(() => 1, ac.signal)).rejects.toThrow('no');
    expect(policy.inspect()).toEqual({ executing: 0, queued: 0 });
  });

  it('releases the place when the call throws; a throwing listener does not matter', async () => {
    const policy = bulkheadPolicy({ maxConcurrent: 1, maxQueue: 0 });
    policy.onFailure(() => {
      throw new Error('listener bug');
    });
    await expect(
      policy.execute(() => {
        throw new TypeError('bug');
      }),
    ).rejects.toThrow('bug');
    await expect(policy.execute(() => 'free again')).resolves.toBe('free again');
  });

  it.each([
    [{ maxConcurrent: 0 }, 'maxConcurrent'],
    [{ maxQueue: -1 }, 'maxQueue'],
    [{ leaseMs: 0 }, 'leaseMs'],
    [{ maxConcurrent: 1.5 }, 'maxConcurrent'],
  ])('refuses %o', (options, option) => {
    expect(() => bulkheadPolicy(options)).toThrow(`\`${option}\``);
    try {
      bulkheadPolicy(options);
    } catch (e) {
      expect(isInvalidConfigError(e)).toBe(true);
    }
  });
});

describe('bulkheadPolicy inside cockatiel wrap', () => {
  it('composes with cockatiel retry and timeout', async () => {
    const policy = wrap(
      retry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) }),
      bulkheadPolicy({ maxConcurrent: 1, maxQueue: 5 }),
      timeout(5000, TimeoutStrategy.Cooperative),
    );
    let active = 0;
    let peak = 0;
    const results = await Promise.all(
      [1, 2, 3].map((i) =>
        policy.execute(async ({ signal }) => {
          expect(signal).toBeInstanceOf(AbortSignal);
          active++;
          peak = Math.max(peak, active);
          await tick();
          active--;
          return i;
        }),
      ),
    );
    expect(results).toEqual([1, 2, 3]);
    expect(peak).toBe(1);
  });
});
