/**
 * Redis for tests. Never skips silently: if no Redis can be found or started, `redisUrl()` throws
 * with instructions.
 *
 * - `redisUrl()`: the shared server for ordinary tests — `REDIS_URL`, or 127.0.0.1:6379 — when it
 *   answers PING within ~1 s; otherwise a private `redis-server` started on a free loopback port
 *   for the rest of the process (stopped at exit).
 * - `startRedisServer()`: a private server you may stop, kill and restart (outage tests).
 * - `uniquePrefix(name)`: a key prefix no other test (or run) uses; use it for every key.
 *
 * ```ts
 * const redis = new Redis(await redisUrl());
 * const key = `${uniquePrefix('budget')}:calls`;
 * ```
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisScriptClient } from '../../src/redis/eval-script.js';
import { redisScripts } from '../../src/stores/redis/lua/scripts.js';

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Sends PING over a raw socket; true when `+PONG` (or `-NOAUTH`, i.e. a Redis) answers in time. */
export function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('data', (data) => finish(/^(\+PONG|-NOAUTH)/.test(data.toString())));
    socket.connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', () =>
      socket.write('PING\r\n'),
    );
  });
}

/** A free TCP port on 127.0.0.1 (asked from the OS). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on `port` of 127.0.0.1 (a listen there succeeds). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port for a server that also needs `port + busOffset` (a Redis Cluster node's bus, at
 * +10000). Taken below Linux's ephemeral range (32768 and up), where the outgoing connections of
 * tests running in parallel take their local ports: an ephemeral port found free can be taken by
 * one before the server binds it.
 */
export async function freeServerPort(busOffset = 10_000): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 12_000 + Math.floor(Math.random() * 10_000);
    if ((await canListen(port)) && (await canListen(port + busOffset))) return port;
  }
  throw new Error('No free pair of ports (p, p + 10000) found between 12000 and 32000');
}

/** Whether `redis-server` is on the PATH. */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the tests cannot run without Redis, and what to do about it. */
export const NO_REDIS =
  'No Redis for the tests: set REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379) to a running ' +
  'server, or install redis-server (apt-get install redis-server / brew install redis) so the ' +
  'tests can start a private one.';

/** A private redis-server; see `startRedisServer`. */
export interface RedisServerHandle {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL): an abrupt outage. Resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after stop or kill), empty. */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGUSR2');
});

/**
 * The server runs under a small Node watchdog that kills it as soon as this process is gone, even
 * when this process is killed by a signal (as test runners do with their workers) and no `exit`
 * handler runs. The watchdog forwards SIGTERM (stop) and SIGUSR2 (SIGKILL the server).
 */
const WATCHDOG = `
const { spawn } = require('node:child_process');
const [parent, ...args] = process.argv.slice(1);
const server = spawn('redis-server', args, { stdio: 'ignore' });
const timer = setInterval(() => {
  try { process.kill(Number(parent), 0); } catch { server.kill('SIGKILL'); }
}, 250);
server.on('exit', () => { clearInterval(timer); process.exit(0); });
server.on('error', () => process.exit(1));
process.on('SIGTERM', () => server.kill('SIGTERM'));
process.on('SIGUSR2', () => server.kill('SIGKILL'));
`;

export interface LaunchOptions {
  /** A config file, read before the command line's options (Sentinel needs one it can rewrite). */
  config?: string;
  /** Run as a Sentinel (`--sentinel`). @default false */
  sentinel?: boolean;
}

/**
 * Starts `redis-server` on `port` (loopback, no persistence, plus `extraArgs`) under the
 * watchdog, and resolves once it answers PING. `child.kill('SIGUSR2')` SIGKILLs the server,
 * `child.kill('SIGTERM')` stops it; either way the child exits once the server is gone.
 */
export async function launchRedisServer(
  port: number,
  extraArgs: readonly string[] = [],
  options: LaunchOptions = {},
): Promise<ChildProcess> {
  // A config file must come first; the command line overrides it.
  const args = options.config ? [options.config] : [];
  args.push('--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no');
  args.push(...extraArgs);
  if (options.sentinel) args.push('--sentinel');
  const child = spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), ...args], {
    stdio: 'ignore',
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (port ${port} in use?)`);
    if (await pingRedis(url, 200)) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGUSR2');
  throw new Error(`redis-server did not answer on port ${port} within 10 s`);
}

/** Resolves once `child` has exited (at once if it already has). */
export function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Servers started together (a Cluster's nodes, a Sentinel group); see `serverGroup`. */
export interface ServerGroup {
  /** The group's temporary directory: its servers' `--dir`, its config files. */
  readonly dir: string;
  /** Starts a server of the group on `port` (as `launchRedisServer` does). */
  launch(port: number, extraArgs?: readonly string[], options?: LaunchOptions): Promise<void>;
  /** SIGKILLs the group's server on `port`; resolves once it is gone. */
  kill(port: number): Promise<void>;
  /** The ports of the servers still running. */
  live(): number[];
  /** Kills every server and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

/** An empty group of servers, in a new temporary directory named after `name`. */
export function serverGroup(name: string): ServerGroup {
  const dir = mkdtempSync(join(tmpdir(), `llmr-${name}-`));
  const children = new Map<number, ChildProcess>();
  const kill = async (child: ChildProcess) => {
    child.kill('SIGUSR2'); // the watchdog SIGKILLs its server, then exits
    await waitExit(child);
  };
  return {
    dir,
    async launch(port, extraArgs = [], options = {}) {
      children.set(port, await launchRedisServer(port, extraArgs, options));
    },
    async kill(port) {
      const child = children.get(port);
      if (!child) throw new Error(`No server of this group on port ${port}`);
      await kill(child);
    },
    live: () =>
      [...children]
        .filter(([, child]) => child.exitCode === null && child.signalCode === null)
        .map(([port]) => port),
    async stop() {
      await Promise.all([...children.values()].map(kill));
      children.clear();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a private `redis-server` on a free loopback port (no persistence). */
export async function startRedisServer(): Promise<RedisServerHandle> {
  if (!hasRedisServer()) throw new Error(NO_REDIS);
  const port = await freePort();
  let child = await launchRedisServer(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child);
    },
    async kill() {
      child.kill('SIGUSR2');
      await waitExit(child);
    },
    async restart() {
      child.kill('SIGUSR2');
      await waitExit(child);
      child = await launchRedisServer(port);
    },
  };
}

let shared: Promise<string> | undefined;

/** URL of a Redis for ordinary tests (see the module comment). Throws when none is available. */
export function redisUrl(): Promise<string> {
  shared ??= (async () => {
    const url = process.env.REDIS_URL ?? DEFAULT_URL;
    if (await pingRedis(url, 1000)) return url;
    if (!hasRedisServer()) throw new Error(`${NO_REDIS} (nothing answered at ${url})`);
    return (await startRedisServer()).url;
  })();
  return shared;
}

/** A key prefix unique to this test and this run: `test:<name>:<random>`. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${randomBytes(6).toString('hex')}`;
}

/** Every key matching `pattern` (a SCAN pattern), found with SCAN, never KEYS. */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: pattern, count: 1000 })) {
    keys.push(...(batch as string[]));
  }
  return keys;
}

/** Deletes every key holding `id` (a unique prefix's random part: budget names encode it). */
export async function deleteKeysWith(redis: Redis, id: string): Promise<void> {
  const keys = await keysMatching(redis, `*${id}*`);
  if (keys.length > 0) await redis.del(...keys);
}

/** Older name of `RedisServerHandle`. */
export type RedisServer = RedisServerHandle;

/** A server's (or a Sentinel's) address. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** One command to one server, on a connection of its own: no client state survives a kill. */
export async function askRedis(
  node: RedisNode,
  name: string,
  ...args: (string | number)[]
): Promise<unknown> {
  const redis = new Redis({
    host: node.host,
    port: node.port,
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // a refused connection is an answer here, reported by `call`
  try {
    await redis.connect();
    return await redis.call(name, ...args);
  } finally {
    redis.disconnect();
  }
}

/** Resolves once `check()` is true (asked every 50 ms); rejects after `ms`, naming `what`. */
export async function until(
  what: string,
  ms: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a Redis answers PING at host:port within `timeoutMs`. */
export function pings(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return pingRedis(`redis://${host}:${port}`, timeoutMs);
}

/**
 * A client of `server` for outage tests: connected now, failing fast once the server is gone (no
 * offline queue, no retries per request), with connection errors expected and silenced.
 */
export async function connectForOutage(server: RedisServerHandle): Promise<Redis> {
  const client = new Redis(server.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // outages are the point of these tests
  await client.connect();
  return client;
}

/**
 * A client of `redis` for the store that fails like a lost connection while `down` is true: an
 * outage without stopping a server.
 */
export function switchableClient(redis: Redis): {
  client: RedisScriptClient;
  setDown(down: boolean): void;
} {
  let down = false;
  const lost = () => Promise.reject(new Error('connect ECONNREFUSED (test)'));
  return {
    client: {
      evalsha: (...args) => (down ? lost() : redis.evalsha(...args)),
      eval: (...args) => (down ? lost() : redis.eval(...args)),
      ping: () => (down ? lost() : redis.ping()),
    },
    setDown(value) {
      down = value;
    },
  };
}

/**
 * Loads every RedisStore script into `redis`, so that a test holding calls to their order is not
 * upset by a first use's NOSCRIPT: its resend by EVAL lands after calls sent meanwhile.
 */
export async function preloadScripts(redis: Redis): Promise<void> {
  for (const script of redisScripts) await redis.script('LOAD', script.source);
}
