/**
 * Redis over TLS (`rediss://`) with an ACL user, passed straight through to ioredis: a real
 * `redis-server --tls-port` with a certificate generated here by openssl (a throwaway CA and a
 * server certificate for 127.0.0.1), no plain-text port, the `default` user disabled and one user
 * allowed only the keys of its store prefix. A RedisStore limiter and a shared circuit run through
 * it. Fails with a message (never skips) when openssl or a TLS-enabled redis-server is missing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { circuitBreakerPolicy } from '../../src/circuit/circuit-breaker-policy.js';
import { gcra, isBrokenCircuitError, RedisStore } from '../../src/index.js';
import { anthropicOutage, sleep } from '../support/real-time.js';
import { freePort } from '../support/redis.js';

const USER = 'llmr-worker';
const PASSWORD = 'tls-acl-test-password';
/** The only keys the ACL user may touch: the store's hash-tagged prefix. */
const PREFIX = 'llmr-tls';

let dir: string;
let server: ChildProcess | undefined;
let port: number;
let ca: Buffer;

function need(command: string, args: string[], why: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`${why}: \`${command} ${args.join(' ')}\` failed (${String(error)})`);
  }
}

/** A CA and a server certificate for 127.0.0.1 / localhost, valid for a day. */
function makeCertificates(): void {
  const openssl = (args: string[]) =>
    need('openssl', args, 'openssl is needed to make the certificate');
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=llmr test CA',
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.crt'),
  ]);
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    join(dir, 'server.key'),
    '-out',
    join(dir, 'server.csr'),
  ]);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl([
    'x509',
    '-req',
    '-in',
    join(dir, 'server.csr'),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    join(dir, 'san.ext'),
    '-out',
    join(dir, 'server.crt'),
  ]);
}

/** Starts a TLS-only redis-server; resolves once it accepts the ACL user over TLS. */
async function startTlsRedis(): Promise<void> {
  port = await freePort();
  const args = [
    '--port',
    '0',
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--tls-port',
    String(port),
    '--tls-cert-file',
    join(dir, 'server.crt'),
    '--tls-key-file',
    join(dir, 'server.key'),
    '--tls-ca-cert-file',
    join(dir, 'ca.crt'),
    '--tls-auth-clients',
    'no',
    // No anonymous access: only the worker user, only its prefix's keys, no admin commands.
    '--user',
    'default',
    'off',
    '--user',
    USER,
    'on',
    `>${PASSWORD}`,
    `~{${PREFIX}}:*`,
    'allchannels',
    '+@all',
    '-@dangerous',
  ];
  let stderr = '';
  server = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Killed with the test process, even when afterAll never runs.
  process.once('exit', () => server?.kill('SIGKILL'));
  server.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(
        `redis-server refused the TLS options (was it built with TLS? \`redis-server --version\`): ${stderr}`,
      );
    }
    const probe = client({ retryStrategy: () => null, lazyConnect: true });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`the TLS redis-server did not answer on port ${port} within 10 s: ${stderr}`);
}

/** The connection a worker makes: `rediss://user:password@host:port` plus the CA to trust. */
function client(extra: Record<string, unknown> = {}): Redis {
  const redis = new Redis(`rediss://${USER}:${PASSWORD}@127.0.0.1:${port}`, {
    tls: { ca },
    maxRetriesPerRequest: 1,
    ...extra,
  });
  return redis;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmr-tls-'));
  makeCertificates();
  ca = readFileSync(join(dir, 'ca.crt'));
  await startTlsRedis();
}, 30_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis over TLS with an ACL user', () => {
  it('the server speaks TLS only, and only to the ACL user', async () => {
    expect(need('redis-server', ['--version'], 'redis-server is needed')).toMatch(/Redis server/);
    const redis = client();
    try {
      const info = String(await redis.call('ACL', 'WHOAMI'));
      expect(info).toBe(USER);
      // Outside its prefix the user is refused: the ACL reached the server.
      await expect(redis.set('elsewhere', '1')).rejects.toThrow(/NOPERM/);
    } finally {
      await redis.quit();
    }
    // Plain text on the TLS port never gets an answer; a wrong password is refused.
    const plain = new Redis(`redis://${USER}:${PASSWORD}@127.0.0.1:${port}`, {
      lazyConnect: true,
      retryStrategy: () => null,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
    });
    plain.on('error', () => undefined);
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
    const wrong = new Redis(`rediss://${USER}:wrong@127.0.0.1:${port}`, {
      tls: { ca },
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    const refusals: string[] = [];
    wrong.on('error', (error: Error) => refusals.push(error.message));
    await expect(wrong.connect()).rejects.toThrow();
    expect(refusals.join('\n')).toMatch(/WRONGPASS/);
    wrong.disconnect();
  });

  it('a RedisStore limiter shares its budget through it', async () => {
    const a = client();
    const b = client();
    try {
      const options = { key: 'rpm', limit: 5, periodMs: 60_000, burst: 5 };
      const one = gcra({ ...options, store: new RedisStore(a, { prefix: PREFIX }) });
      const two = gcra({ ...options, store: new RedisStore(b, { prefix: PREFIX }) });
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push((await one.tryAcquire()).allowed);
      for (let i = 0; i < 4; i++) decisions.push((await two.tryAcquire()).allowed);
      // Five in the burst between both workers, then refusals: one budget on the TLS server.
      expect(decisions.filter(Boolean)).toHaveLength(5);
      expect(decisions.slice(0, 5).every(Boolean)).toBe(true);
      const [, keys] = await a.scan('0', 'MATCH', `{${PREFIX}}:*`, 'COUNT', 1000);
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      await a.quit();
      await b.quit();
    }
  });

  it('a shared circuit opened by one worker is seen open by another', async () => {
    const a = client();
    const b = client();
    const key = `{${PREFIX}}:circuit:anthropic`;
    const options = { consecutiveFailures: 2, halfOpenAfterMs: 60_000 };
    const one = circuitBreakerPolicy({ ...options, shared: { redis: a, key, syncIntervalMs: 20 } });
    const two = circuitBreakerPolicy({ ...options, shared: { redis: b, key, syncIntervalMs: 20 } });
    try {
      for (let i = 0; i < 2; i++)
        await one.execute(() => Promise.reject(anthropicOutage())).catch(() => {});
      for (let i = 0; i < 100 && (await a.hget(key, 'state')) !== 'open'; i++) await sleep(20);
      expect(await a.hget(key, 'state')).toBe('open');
      // Worker two learns of it from the TLS Redis within a few sync intervals.
      let refused: unknown;
      const deadline = Date.now() + 5000;
      while (!refused && Date.now() < deadline) {
        await two
          .execute(() => Promise.resolve('called'))
          .catch((error: unknown) => {
            refused = error;
          });
        if (!refused) await sleep(20);
      }
      expect(isBrokenCircuitError(refused)).toBe(true);
      expect(two.inspect().state).toBe('open');
    } finally {
      one.dispose();
      two.dispose();
      await a.quit();
      await b.quit();
    }
  });
});
