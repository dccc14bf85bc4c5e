import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { freePort, pingRedis, redisUrl, startRedisServer, uniquePrefix } from './redis.js';

const run = promisify(execFile);

/** True once nothing answers at `url` (polled for up to 5 s: kills are asynchronous). */
async function goesDown(url: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await pingRedis(url, 200))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('test/support/redis', () => {
  it('redisUrl() answers PING', async () => {
    expect(await pingRedis(await redisUrl())).toBe(true);
  });

  it('uniquePrefix() never repeats', () => {
    const prefixes = new Set(Array.from({ length: 100 }, () => uniquePrefix('x')));
    expect(prefixes.size).toBe(100);
    expect([...prefixes][0]).toMatch(/^test:x:[0-9a-f]{12}$/);
  });

  it('startRedisServer() can be killed, restarted empty, and stopped', {
    timeout: 60_000,
  }, async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    await client.connect();
    await client.set('k', 'v');
    await server.kill();
    expect(await goesDown(server.url)).toBe(true);
    await server.restart();
    expect(await pingRedis(server.url)).toBe(true);
    const fresh = new Redis(server.url, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
    expect(await fresh.get('k')).toBeNull(); // no persistence
    fresh.disconnect();
    client.disconnect();
    await server.stop();
    expect(await goesDown(server.url)).toBe(true);
  });

  it('when REDIS_URL answers nothing, redisUrl() starts a private redis-server', async () => {
    const deadUrl = `redis://127.0.0.1:${await freePort()}`;
    const probe = fileURLToPath(new URL('../fixtures/redis-url-probe.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', probe], {
      env: { ...process.env, REDIS_URL: deadUrl },
      timeout: 20_000,
    });
    const result = JSON.parse(stdout) as { url: string; answers: boolean };
    expect(result.url).not.toBe(deadUrl);
    expect(result.answers).toBe(true);
  });

  it('a private server dies with the process that started it, even on SIGKILL', async () => {
    const owner = fileURLToPath(new URL('../fixtures/redis-server-owner.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', owner], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', () => reject(new Error('owner exited early')));
    });
    expect(await pingRedis(url)).toBe(true);
    child.kill('SIGKILL');
    expect(await goesDown(url)).toBe(true);
  });
});
