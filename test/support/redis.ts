/**
 * Redis for tests. `redisUrl()` finds the shared server (REDIS_URL, else 127.0.0.1:6379 when it
 * answers, else a private `redis-server` started for this test process); `startRedisServer()`
 * gives a test its own server to kill and restart; `uniquePrefix()` keeps tests apart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOW_TO =
  'Redis is needed for these tests: set REDIS_URL (e.g. redis://127.0.0.1:6379), run a Redis ' +
  'on 127.0.0.1:6379, or put `redis-server` on the PATH (apt-get install redis-server) so the ' +
  'tests can start one.';

let shared: Promise<string> | undefined;

/** URL of a Redis for shared use (each test with its own prefix). */
export function redisUrl(): Promise<string> {
  shared ??= findRedis();
  return shared;
}

async function findRedis(): Promise<string> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return fromEnv;
  if (await pings('127.0.0.1', 6379, 1000)) return 'redis://127.0.0.1:6379';
  let server: RedisServer;
  try {
    server = await startRedisServer();
  } catch (error) {
    throw new Error(`${HOW_TO} (starting redis-server failed: ${String(error)})`);
  }
  process.once('exit', () => server.kill());
  return server.url;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM) and waits for it to exit; removes its directory. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would; returns when it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence), and waits until it answers. */
  restart(): Promise<void>;
}

/** A private redis-server on a free loopback port, no persistence. */
export async function startRedisServer(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'llmr-redis-'));
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly'];
    args.push('no', '--dir', dir, ...extraArgs);
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
    failed.catch(() => {});
    const deadline = Date.now() + 10_000;
    while (!(await pings('127.0.0.1', port, 500))) {
      await Promise.race([new Promise((r) => setTimeout(r, 50)), failed]);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer`);
    }
  };

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGKILL');
      await start();
    },
  };
}

/** A prefix no other test (or run) uses; valid as a RedisStore prefix. */
export function uniquePrefix(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  return `test-${safe}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A TCP port free on the loopback interface now. */
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

/** Sends a raw PING; true when +PONG comes back within `timeoutMs`. */
export function pings(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}
