import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  encodeKeyName,
  gcra,
  InvalidLimiterConfigError,
  LimiterUnavailableError,
  type RedisScriptClient,
  RedisStore,
  redisKey,
  tokenBucket,
} from '../../src/index.js';
import { reserveScript } from '../../src/stores/redis/lua/scripts.js';
import { startRedisServer, uniquePrefix } from '../support/redis.js';
import { sharedRedis } from '../support/shared-redis.js';

const redis = sharedRedis();

/** The hash tag Redis Cluster hashes: from the first `{` to the first `}` after it, if non-empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

describe('key names', () => {
  it('distinct names map to distinct keys, all tagged with the prefix', () => {
    const nameArb = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({
        unit: fc.constantFrom('{', '}', ':', '%', 'u', '\n', 'a', '0', '\ud800'),
        maxLength: 30,
      }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    fc.assert(
      fc.property(
        nameArb,
        nameArb,
        fc.constantFrom('gcra' as const, 'token-bucket' as const),
        (a, b, algorithm) => {
          const ka = redisKey('llmr', algorithm, a);
          const kb = redisKey('llmr', algorithm, b);
          expect(ka === kb).toBe(a === b);
          expect(hashTag(ka)).toBe('llmr');
          expect(ka).toMatch(/^\{llmr\}:[gt]:[A-Za-z0-9._%-]*$/);
        },
      ),
      { numRuns: 1000 },
    );
    expect(encodeKeyName('a:b')).not.toBe(encodeKeyName('a%3ab'));
    expect(redisKey('p', 'gcra', 'x')).not.toBe(redisKey('p', 'token-bucket', 'x'));
  });

  it('a 10 kB name with braces and newlines is its own budget', async () => {
    const store = new RedisStore(redis(), { prefix: uniquePrefix('names') });
    const long = `{t}:\n${'x'.repeat(10_000)}}{`;
    const a = gcra({ key: long, limit: 1, periodMs: 60_000, store });
    const b = gcra({ key: `${long}!`, limit: 1, periodMs: 60_000, store });
    expect((await a.tryAcquire()).allowed).toBe(true);
    expect((await a.tryAcquire()).allowed).toBe(false);
    expect((await b.tryAcquire()).allowed).toBe(true);
    expect(await redis().exists(store.keyOf(a.spec))).toBe(1);
  });
});

describe('RedisStore options', () => {
  it('refuses bad options, naming the option, the range and the value', () => {
    const bad = (options: object, pattern: RegExp) => {
      expect(() => new RedisStore(redis(), options)).toThrow(InvalidLimiterConfigError);
      expect(() => new RedisStore(redis(), options)).toThrow(pattern);
    };
    bad({ prefix: 'a{b}' }, /`prefix`.*'\{'.*"a\{b\}"/);
    bad({ prefix: '' }, /`prefix`/);
    bad({ prefix: 'has space' }, /`prefix`/);
    bad({ onUnavailable: 'retry' }, /`onUnavailable`.*"retry"/);
    bad({ timeoutMs: 0 }, /`timeoutMs`.*\(0, 60000\].*received 0/);
    bad({ timeoutMs: Number.NaN }, /`timeoutMs`/);
    bad({ onUnavailable: 'local' }, /`localWorkers`.*required.*undefined/);
    bad({ onUnavailable: 'local', localWorkers: 1.5 }, /`localWorkers`.*1\.5/);
    bad({ recheckMs: -1 }, /`recheckMs`/);
    bad({ clock: { now: 5 } }, /`clock`/);
    expect(() => new RedisStore({} as never)).toThrow(/`redis`/);
  });
});

describe('RedisStore clock and schedule', () => {
  it("decides by the Redis server's clock, whatever the workers' clocks say", async () => {
    const prefix = uniquePrefix('skew');
    const ahead = { now: () => Date.now() + 30_000 };
    const behind = { now: () => Date.now() - 30_000 };
    const options = { key: 'rpm', limit: 60, periodMs: 60_000, burst: 5 };
    const a = gcra({ ...options, store: new RedisStore(redis(), { prefix }), clock: ahead });
    const b = gcra({ ...options, store: new RedisStore(redis(), { prefix }), clock: behind });
    let admitted = 0;
    for (let i = 0; i < 10; i++) {
      if ((await a.tryAcquire()).allowed) admitted++;
      if ((await b.tryAcquire()).allowed) admitted++;
    }
    // 10 s would be needed for one more unit: the test is far shorter.
    expect(admitted).toBe(5);
  });

  it('hold pushes every worker sharing the key', async () => {
    const prefix = uniquePrefix('hold');
    const options = { key: 'rpm', limit: 600, periodMs: 60_000, burst: 10 };
    const a = gcra({ ...options, store: new RedisStore(redis(), { prefix }) });
    const b = gcra({ ...options, store: new RedisStore(redis(), { prefix }) });
    await a.holdFor(30_000);
    const refused = await b.tryAcquire();
    expect(refused.allowed).toBe(false);
    // Empty at +30 s, then one unit per 100 ms: the first slot is 30.1 s away.
    expect(refused.retryAfterMs).toBeGreaterThan(30_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(30_100);
  });

  it('keys expire once the bucket is full again', async () => {
    const store = new RedisStore(redis(), { prefix: uniquePrefix('ttl') });
    const fast = gcra({ key: 'fast', limit: 10, periodMs: 1000, burst: 2, store });
    const held = tokenBucket({ key: 'held', capacity: 10, refillPerSecond: 10, store });
    await fast.tryAcquire(2);
    await held.holdFor(60_000);
    const ttlFast = await redis().pttl(store.keyOf(fast.spec));
    const ttlHeld = await redis().pttl(store.keyOf(held.spec));
    // Full again after 200 ms; 1 s of slack.
    expect(ttlFast).toBeGreaterThan(0);
    expect(ttlFast).toBeLessThanOrEqual(1200);
    // Empty until +60 s, full 1 s later, plus the slack.
    expect(ttlHeld).toBeGreaterThan(60_000);
    expect(ttlHeld).toBeLessThanOrEqual(62_000);
    await new Promise((resolve) => setTimeout(resolve, ttlFast + 100));
    expect(await redis().exists(store.keyOf(fast.spec))).toBe(0);
    // An expired key is a fresh one.
    expect((await fast.tryAcquire(2)).allowed).toBe(true);
  });
});

describe('script loading', () => {
  it('after SCRIPT FLUSH, resends the script exactly once by EVAL (NOSCRIPT), then EVALSHA', async () => {
    const server = await startRedisServer();
    const own = new Redis(server.url);
    try {
      let evals = 0;
      const client: RedisScriptClient = {
        evalsha: (...args) => own.evalsha(...args),
        eval: (...args) => {
          evals++;
          return own.eval(...args);
        },
        ping: () => own.ping(),
      };
      const store = new RedisStore(client, { prefix: uniquePrefix('noscript') });
      const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, burst: 5, store });
      const sha = createHash('sha1').update(reserveScript.source).digest('hex');
      expect((await rpm.tryAcquire()).allowed).toBe(true);
      expect(evals).toBe(1);
      expect((await rpm.tryAcquire()).allowed).toBe(true);
      expect(evals).toBe(1);
      await own.script('FLUSH');
      expect(await own.script('EXISTS', sha)).toEqual([0]);
      expect((await rpm.tryAcquire()).allowed).toBe(true);
      expect(evals).toBe(2);
      expect(await own.script('EXISTS', sha)).toEqual([1]);
      expect((await rpm.tryAcquire(2)).allowed).toBe(true);
      expect(evals).toBe(2);
      expect((await rpm.tryAcquire()).allowed).toBe(false);
    } finally {
      own.disconnect();
      await server.stop();
    }
  });

  it('a script error that is not an outage is thrown as it is, not as unavailability', async () => {
    const store = new RedisStore(redis(), { prefix: uniquePrefix('wrongtype') });
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, store });
    await redis().lpush(store.keyOf(rpm.spec), 'not a limiter');
    const error = await rpm.tryAcquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(LimiterUnavailableError);
    expect(String(error)).toMatch(/WRONGTYPE/);
    expect(store.available).toBe(true);
    // Batched with a sound reservation, only the one at fault fails.
    const other = gcra({ key: 'other', limit: 60, periodMs: 60_000, store });
    const [bad, good] = await Promise.allSettled([rpm.tryAcquire(), other.tryAcquire()]);
    expect(bad.status).toBe('rejected');
    expect(good).toMatchObject({ status: 'fulfilled', value: { allowed: true } });
  });

  it('a string that is not a limiter state is refused by name, never read as numbers', async () => {
    const store = new RedisStore(redis(), { prefix: uniquePrefix('badstate') });
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, store });
    const tpm = tokenBucket({ key: 'tpm', capacity: 60, refillPerSecond: 1, store });
    // Text, a binary string of another format version, and one of a length no state has.
    const doubles = (...v: number[]) => Buffer.from(new Float64Array(v).buffer);
    for (const value of ['1700000000000000 3 0 0 0 0 0', doubles(1, 5, 5), Buffer.alloc(12)]) {
      for (const limiter of [rpm, tpm]) {
        await redis().set(store.keyOf(limiter.spec), value);
        const error = await limiter.tryAcquire().catch((e: unknown) => e);
        expect(error).not.toBeInstanceOf(LimiterUnavailableError);
        expect(String(error)).toMatch(/does not hold a limiter state of format 2/);
        // Nothing was written over it.
        expect(await redis().getBuffer(store.keyOf(limiter.spec))).toEqual(Buffer.from(value));
      }
    }
    expect(store.available).toBe(true);
  });

  // Led by the format number 2 but too short for a state (no fields, or fewer than the algorithm
  // needs): not read as missing numbers.
  it('a truncated state of format 2 is refused by name, for a reservation and for a look', async () => {
    const store = new RedisStore(redis(), { prefix: uniquePrefix('shortstate') });
    const rpm = gcra({ key: 'rpm', limit: 60, periodMs: 60_000, store });
    const tpm = tokenBucket({ key: 'tpm', capacity: 60, refillPerSecond: 1, store });
    const doubles = (...v: number[]) => Buffer.from(new Float64Array(v).buffer);
    for (const value of [doubles(2), doubles(2, 5, 5)]) {
      for (const limiter of [rpm, tpm]) {
        const key = store.keyOf(limiter.spec);
        await redis().set(key, value);
        for (const error of [
          await limiter.tryAcquire().catch((e: unknown) => e),
          await limiter.inspect().catch((e: unknown) => e),
        ]) {
          expect(String(error)).toContain(`key ${key} does not hold a limiter state of format 2`);
        }
        expect(await redis().getBuffer(key)).toEqual(value);
      }
    }
  });
});
