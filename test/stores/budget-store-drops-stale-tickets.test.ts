/**
 * A waiting ticket whose worker died (never claimed, due for longer than the claim grace) is
 * dropped by the next operation on its key, also when it waits alone: otherwise every new
 * reservation would queue behind a ticket that never starts.
 */
import { describe, expect, it } from 'vitest';
import { makeRate } from '../../src/limiter/rate.js';
import { DEFAULT_CLAIM_GRACE_US, MemoryBudgetStore } from '../../src/stores/memory-budget-store.js';

const spec = { key: 'k', rate: makeRate(10, 1_000_000, 10), lagUs: 0 };

describe('a budget store with a stale lone ticket', () => {
  it('drops it, and a new reservation starts at once', async () => {
    const store = new MemoryBudgetStore();
    const t0 = 1_000_000_000;
    // The bucket is emptied; one ticket queues (its worker then dies).
    await store.reserve([spec], [spec.rate.capacityUs], 0, t0);
    const dead = await store.reserve([spec], [100_000], Number.MAX_SAFE_INTEGER, t0);
    expect(dead.granted && dead.plans[0]!.queued).toBe(true);
    const later = t0 + 2 * spec.rate.capacityUs + DEFAULT_CLAIM_GRACE_US;
    // A look before any write already leaves it out, and changes nothing.
    expect(await store.look(spec, later)).toEqual({
      freeUs: spec.rate.capacityUs,
      queued: 0,
      heldUs: 0,
    });
    expect(store.stateOf('k').queue).toHaveLength(1);
    const fresh = await store.reserve([spec], [100_000], Number.MAX_SAFE_INTEGER, later);
    expect(fresh.granted && fresh.plans[0]!.queued).toBe(false);
    expect((await store.look(spec, later)).queued).toBe(0);
    expect(store.stateOf('k').queue).toEqual([]);
  });
});
