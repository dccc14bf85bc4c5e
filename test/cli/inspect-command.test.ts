/**
 * `llm-resilience inspect` run as users run it, against a real Redis holding limiters and a
 * circuit this test made (under its own prefix): it finds them with SCAN, reports what their
 * own `inspect()` reports, refreshes with --watch until Ctrl-C, and never prints an API key or
 * the Redis password.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedCircuitStore } from '../../src/circuit/shared-circuit.js';
import type { InspectSnapshot } from '../../src/cli/inspect-redis.js';
import { anthropicPolicy, gcra, RedisStore, tokenBucket, wrap } from '../../src/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { deleteKeysWith, redisUrl, uniquePrefix } from '../support/redis.js';

const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const FAKE_KEY = 'sk-ant-api03-NEVERPRINTME0123456789';

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function inspect(...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', bin, 'inspect', ...args],
      { timeout: 60_000, env: { ...process.env, REDIS_URL: '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let url: string;
let redis: Redis;
const prefix = uniquePrefix('cli-inspect');
const circuitKey = `${prefix}:circuit`;
let rpm: ReturnType<typeof gcra>;
let itpm: ReturnType<typeof tokenBucket>;

beforeAll(async () => {
  url = await redisUrl();
  redis = new Redis(url);
  const store = new RedisStore(redis, { prefix });
  // 6 a minute: one unit every 10 s, so nothing refills while the CLI starts.
  rpm = gcra({ key: 'prod:anthropic:sonnet-4.x:rpm', limit: 6, periodMs: 60_000, store });
  itpm = tokenBucket({
    key: 'prod:anthropic:sonnet-4.x:itpm',
    capacity: 60_000,
    refillPerSecond: 1_000,
    store,
  });
  for (let i = 0; i < 4; i++) expect((await rpm.tryAcquire(1)).allowed).toBe(true);
  expect((await itpm.tryAcquire(45_000)).allowed).toBe(true);
  await new SharedCircuitStore(redis, circuitKey).open(60_000, {
    name: 'InternalServerError',
    status: 500,
    message: `upstream failed for key ${FAKE_KEY}`,
  });
});

afterAll(async () => {
  // The unique part of the prefix: a pipeline's budget key holds it URI-encoded.
  await deleteKeysWith(redis, prefix.slice(prefix.lastIndexOf(':') + 1));
  redis.disconnect();
});

describe('llm-resilience inspect (child process, real Redis)', () => {
  it('reports each shared limiter as its own inspect() does, and the open circuit', async () => {
    const before = await rpm.inspect();
    const { code, stdout, stderr } = await inspect(
      ...['--redis', url, '--key', prefix, '--limits', 'rpm=6,itpm=60000', '--json'],
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const snapshot = JSON.parse(stdout) as InspectSnapshot;
    const byName = Object.fromEntries(snapshot.limiters.map((l) => [l.name, l]));
    const r = byName['prod:anthropic:sonnet-4.x:rpm'];
    expect(r).toMatchObject({ prefix, algorithm: 'gcra', limit: 6, periodMs: 60_000 });
    // 2 of 6 left; at most one more unit refilled while the CLI started (one per 10 s).
    expect(r?.available).toBeGreaterThanOrEqual(before.available);
    expect(r?.available).toBeLessThanOrEqual(before.available + 1);
    expect(before.available).toBe(2);
    const t = byName['prod:anthropic:sonnet-4.x:itpm'];
    expect(t).toMatchObject({ algorithm: 'token-bucket', limit: 60_000 });
    expect(t?.available).toBeGreaterThanOrEqual(15_000);
    expect(t?.available).toBeLessThan(60_000);
    expect(snapshot.circuits).toHaveLength(1);
    expect(snapshot.circuits[0]).toMatchObject({
      key: circuitKey,
      state: 'open',
      epoch: 1,
      lastFailure: { name: 'InternalServerError', status: 500 },
    });
    expect(stdout).not.toContain(FAKE_KEY);
  });

  it("reads a budget a pipeline made, and agrees with the pipeline's own inspect()", async () => {
    const sim = await startSimulator({ provider: 'anthropic', outputTokens: 20 });
    const pipelineRedis = new Redis(url);
    const key = `${prefix}-pipeline`;
    const limits = { rpm: 6, itpm: 100_000, otpm: 100_000 };
    const policy = anthropicPolicy({ limits, redis: pipelineRedis, key });
    try {
      const client = new Anthropic({
        fetch: policy.fetch,
        maxRetries: 0,
        baseURL: sim.url,
        apiKey: FAKE_KEY,
      });
      for (let i = 0; i < 2; i++) {
        await wrap(policy).execute(() =>
          client.messages.create({
            model: 'claude-sonnet-4-6',
            max_tokens: 64,
            messages: [{ role: 'user', content: 'a prompt that must not be printed' }],
          }),
        );
      }
      const own = (await policy.inspect()).limits.find((l) => l.name === 'rpm');
      const { code, stdout } = await inspect(
        ...['--redis', url, '--key', key, '--limits', 'rpm=6,itpm=100000,otpm=100000', '--json'],
      );
      expect(code).toBe(0);
      const snapshot = JSON.parse(stdout) as InspectSnapshot;
      // The token dimensions are full again at once (a few dozen tokens of 100,000), and a key
      // that equals a fresh one expires: rpm, 2 of 6, is still there.
      expect(snapshot.budgets.map((b) => b.dimension)).toContain('rpm');
      const rpmBudget = snapshot.budgets.find((b) => b.dimension === 'rpm');
      expect(rpmBudget).toMatchObject({
        prefix: 'llmr',
        budget: key,
        provider: 'anthropic',
        limit: 6,
        queued: 0,
      });
      // Two calls (and their arrival lag) out of 6 a minute: what the pipeline itself reports,
      // give or take the one unit that refills every 10 s.
      expect(own).toBeDefined();
      expect(Math.abs((rpmBudget?.available ?? -1) - own!.available)).toBeLessThanOrEqual(1);
      expect(rpmBudget?.available).toBeLessThan(6);
      expect(stdout).not.toContain(FAKE_KEY);
      expect(stdout).not.toContain('must not be printed');
      const text = await inspect('--redis', url, '--key', key);
      expect(text.stdout).toContain('Pipeline budgets:');
      expect(text.stdout).toContain(key);
    } finally {
      await pipelineRedis.quit();
      await sim.close();
    }
  });

  it("shows a budget's limits without --limits, from its record in Redis, with the provider's lower limit adopted", async () => {
    // The provider's headers report 5 requests a minute where 6 were configured: the pipeline
    // adopts 5, and the record keeps 6 as the configured limit.
    const sim = await startSimulator({
      provider: 'anthropic',
      outputTokens: 20,
      limits: { rpm: 5, itpm: 100_000, otpm: 100_000 },
    });
    const pipelineRedis = new Redis(url);
    const key = `${prefix}-recorded`;
    const policy = anthropicPolicy({
      limits: { rpm: 6, itpm: 100_000, otpm: 100_000 },
      redis: pipelineRedis,
      key,
    });
    try {
      const client = new Anthropic({
        fetch: policy.fetch,
        maxRetries: 0,
        baseURL: sim.url,
        apiKey: FAKE_KEY,
      });
      for (let i = 0; i < 2; i++) {
        await wrap(policy).execute(() =>
          client.messages.create({
            model: 'claude-sonnet-4-6',
            max_tokens: 64,
            messages: [{ role: 'user', content: 'hello' }],
          }),
        );
      }
      const own = await policy.inspect();
      const { code, stdout, stderr } = await inspect('--redis', url, '--key', key, '--json');
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const snapshot = JSON.parse(stdout) as InspectSnapshot;
      const byDimension = Object.fromEntries(snapshot.budgets.map((b) => [b.dimension, b]));
      // Every dimension, the token ones too: their queues expired (full again), their records did not.
      expect(Object.keys(byDimension).sort()).toEqual(['itpm', 'otpm', 'rpm']);
      expect(byDimension.rpm).toMatchObject({
        limit: 5,
        periodMs: 60_000,
        configuredLimit: 6,
        adaptive: 0.833,
        limitSource: 'recorded',
      });
      expect(own.limits.find((l) => l.name === 'rpm')?.limit).toBe(5);
      const ownRpm = own.limits.find((l) => l.name === 'rpm')!;
      expect(Math.abs(byDimension.rpm!.available! - ownRpm.available)).toBeLessThanOrEqual(1);
      expect(byDimension.rpm!.nextSlotMs).toBeGreaterThanOrEqual(0);
      for (const d of ['itpm', 'otpm']) {
        expect(byDimension[d]).toMatchObject({
          limit: 100_000,
          configuredLimit: 100_000,
          adaptive: 1,
        });
        expect(byDimension[d]!.available).toBeGreaterThan(99_000);
      }
      const text = await inspect('--redis', url, '--key', key);
      expect(text.stdout).toMatch(/│ rpm +│ 5\/min +│/);
      expect(text.stdout).toContain('0.833 of 6');
      expect(text.stdout).not.toContain('pass --limits');
    } finally {
      policy.dispose();
      await pipelineRedis.quit();
      await sim.close();
    }
  });

  it('shows a hold placed after a 429, with no limit given', async () => {
    await rpm.holdFor(30_000);
    const { code, stdout } = await inspect('--redis', url, '--key', `${prefix}`, '--json');
    expect(code).toBe(0);
    const snapshot = JSON.parse(stdout) as InspectSnapshot;
    const r = snapshot.limiters.find((l) => l.name.endsWith(':rpm'));
    expect(r?.heldForMs).toBeGreaterThan(0);
    expect(r?.heldForMs).toBeLessThanOrEqual(30_000);
    expect(r?.limit).toBeUndefined();
    expect(r?.available).toBeUndefined();
  });

  it('prints tables in text, without the key or the Redis password', async () => {
    const withPassword = url.replace('redis://', 'redis://default:@');
    const { code, stdout } = await inspect('--redis', withPassword, '--key', prefix);
    expect(code).toBe(0);
    expect(stdout).toContain('Limiters:');
    expect(stdout).toContain('prod:anthropic:sonnet-4.x:rpm');
    expect(stdout).toMatch(/open/);
    expect(stdout).not.toContain(FAKE_KEY);
  });

  it('refreshes every second with --watch until Ctrl-C, then exits 0', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', bin, 'inspect', '--redis', url, '--key', prefix, '--watch', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no second snapshot: ${out}`)), 30_000);
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.split('\n').filter((l) => l.startsWith('{')).length >= 2) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const [first, second] = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as InspectSnapshot);
      expect(Date.parse(second!.at) - Date.parse(first!.at)).toBeGreaterThanOrEqual(900);
      expect(first!.circuits[0]?.key).toBe(circuitKey);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('skips and lists a key named like a limiter that holds something else', async () => {
    const bogus = `{${prefix}}:g:not-a-limiter`;
    await redis.set(bogus, 'hello', 'PX', 60_000);
    const { code, stdout } = await inspect('--redis', url, '--key', prefix, '--json');
    expect(code).toBe(0);
    const snapshot = JSON.parse(stdout) as InspectSnapshot;
    expect(snapshot.unreadable.map((u) => u.redisKey)).toEqual([bogus]);
    expect(snapshot.limiters.map((l) => l.name)).toContain('prod:anthropic:sonnet-4.x:rpm');
    await redis.del(bogus);
  });

  it('exits 2 naming the argument when --redis or --limits is wrong', async () => {
    const none = await inspect('--key', prefix);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--redis');
    const badLimits = await inspect('--redis', url, '--limits', 'rpm=many');
    expect(badLimits.code).toBe(2);
    expect(badLimits.stderr).toContain('--limits');
  });

  it('exits 1 when Redis does not answer, without printing the password', async () => {
    const { code, stderr } = await inspect('--redis', 'redis://app:hunter2@127.0.0.1:1');
    expect(code).toBe(1);
    expect(stderr).toContain('Cannot reach Redis');
    expect(stderr).not.toContain('hunter2');
  });
});
