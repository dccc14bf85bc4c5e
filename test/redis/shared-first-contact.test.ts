/**
 * First contact shared through Redis (src/pipeline/first-contact.ts, the store's contact
 * scripts): workers on separate connections share one probe per budget, hear its answer, adopt
 * what it taught, and take over the probe when the worker holding it never answers.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContactNotice } from '../../src/limiter/budget-store.js';
import { FirstContact, PROBE_LEASE_MS } from '../../src/pipeline/first-contact.js';
import { RedisBudgetStore } from '../../src/stores/redis/redis-budget-store.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

const clients: Redis[] = [];
const stores: RedisBudgetStore[] = [];

async function worker(prefix: string): Promise<RedisBudgetStore> {
  const redis = new Redis(await redisUrl());
  redis.on('error', () => {});
  clients.push(redis);
  const store = new RedisBudgetStore(redis, { prefix });
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const store of stores.splice(0)) store.close();
  await Promise.all(clients.splice(0).map((c) => c.quit()));
});

describe('first contact shared through Redis', () => {
  it('one worker probes; the others wait, hear its answer and read it when they ask later', async () => {
    const prefix = uniquePrefix('contact');
    const [a, b, c] = [await worker(prefix), await worker(prefix), await worker(prefix)];
    expect((await a.contact.enter('budget', 10_000)).contact).toBe('probe');
    expect((await b.contact.enter('budget', 10_000)).contact).toBe('wait');
    const heard = new Promise<ContactNotice>((resolve) => b.contact.onMade('budget', resolve));
    // Let b's subscriber come up before the answer is published.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await a.contact.made('budget', { output: 42, limits: { otpm: 90_000 } });
    expect(await heard).toEqual({ output: 42, limits: { otpm: 90_000 } });
    expect(await c.contact.enter('budget', 10_000)).toEqual({
      contact: 'open',
      output: 42,
      limits: { otpm: 90_000 },
    });
    // Another budget of the same prefix is untouched.
    expect((await c.contact.enter('other', 10_000)).contact).toBe('probe');
  });

  it('a quota stop is kept until a later one; limits and output take the newest answer', async () => {
    const prefix = uniquePrefix('contact-stop');
    const [a, b] = [await worker(prefix), await worker(prefix)];
    const until = Date.UTC(2027, 0, 1);
    await a.contact.made('budget', { stoppedUntil: until, output: 10 });
    await b.contact.made('budget', { stoppedUntil: until - 1000, output: 20 });
    expect(await a.contact.enter('budget', 1000)).toEqual({
      contact: 'open',
      stoppedUntil: until,
      output: 20,
    });
  });

  it('a waiting worker hears an answer published before its subscriber was up', async () => {
    const prefix = uniquePrefix('contact-late');
    const [a, b] = [await worker(prefix), await worker(prefix)];
    await a.contact.enter('budget', 10_000);
    await a.contact.made('budget', { output: 7 });
    // b starts listening after the answer: the read after its subscription tells it.
    const heard = await new Promise<ContactNotice>((resolve) =>
      b.contact.onMade('budget', resolve),
    );
    expect(heard).toEqual({ output: 7 });
  });

  it('FirstContact: the calls of every worker wait for the one probe, then go informed', async () => {
    const prefix = uniquePrefix('contact-calls');
    const [a, b] = [await worker(prefix), await worker(prefix)];
    const noticesB: ContactNotice[] = [];
    const contactA = new FirstContact({ shared: { contact: a.contact, name: 'budget' } });
    const contactB = new FirstContact({
      shared: { contact: b.contact, name: 'budget' },
      onNotice: (n) => noticesB.push(n),
    });
    const gone: string[] = [];
    const call = (contact: FirstContact, name: string) =>
      Promise.resolve(contact.enter(undefined, 60_000)).then(() => gone.push(name));
    const a1 = call(contactA, 'a1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const others = [call(contactA, 'a2'), call(contactB, 'b1'), call(contactB, 'b2')];
    await a1;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only the probe went.
    expect(gone).toEqual(['a1']);
    contactA.made({ limits: { otpm: 3000 } });
    await Promise.all(others);
    expect(gone.sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(noticesB).toEqual([{ limits: { otpm: 3000 } }]);
    expect(contactB.isOpen).toBe(true);
  });

  it('after contact, later news (an adaptive cut) reaches workers whose callers wait, and only them', async () => {
    const prefix = uniquePrefix('contact-news');
    const [a, b, c] = [await worker(prefix), await worker(prefix), await worker(prefix)];
    const heardB: ContactNotice[] = [];
    const heardC: ContactNotice[] = [];
    const contacts = [a, b, c].map(
      (store, i) =>
        new FirstContact({
          shared: { contact: store.contact, name: 'budget' },
          onNotice: (n) => (i === 1 ? heardB : i === 2 ? heardC : []).push(n),
        }),
    );
    await contacts[0]!.enter(undefined, 60_000);
    const waiting = contacts.slice(1).map((contact) => contact.enter(undefined, 60_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    contacts[0]!.made({});
    await Promise.all(waiting);
    heardB.length = 0;
    heardC.length = 0;
    // b's callers wait on the budget (its store listens for their shifts); c's do not.
    const unwatch = b.watch(['otpm'], () => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    contacts[0]!.made({ cutAt: 1234 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heardB).toEqual([{ cutAt: 1234 }]);
    expect(heardC).toEqual([]);
    unwatch();
  });

  it('a probe that never answers costs its lease: another worker then probes', {
    timeout: 30_000,
  }, async () => {
    const prefix = uniquePrefix('contact-dead');
    const [dead, b] = [await worker(prefix), await worker(prefix)];
    // A worker takes the lease and dies without answering.
    expect((await dead.contact.enter('budget', PROBE_LEASE_MS)).contact).toBe('probe');
    const contactB = new FirstContact({ shared: { contact: b.contact, name: 'budget' } });
    const asked = performance.now();
    // Waits far longer than the lease are allowed: b goes as the new probe, not by its maxWaitMs.
    await contactB.enter(undefined, 60_000);
    const waitedMs = performance.now() - asked;
    console.log(`probe taken over after ${Math.round(waitedMs)} ms (lease ${PROBE_LEASE_MS} ms)`);
    expect(waitedMs).toBeLessThan(30_000);
    expect(contactB.isOpen).toBe(false);
    // b holds the lease now: a third worker waits for b's answer.
    expect((await dead.contact.enter('budget', PROBE_LEASE_MS)).contact).toBe('wait');
  });
});
