/**
 * The simulator, started from code or from the CLI, listens on loopback only unless told
 * otherwise: the kernel's table of listening sockets (/proc/net/tcp and tcp6) shows the bound
 * address, and a non-loopback address of this machine, where it has one, is refused. Linux only
 * (CI's platform); elsewhere the test fails saying so rather than skipping.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';

const KEY = 'sk-ant-LEAKCHECK-cli-0123456789abcdef';
const PROMPT = 'PROMPTLEAK: the launch date is secret';

/** Local addresses of the sockets listening on `port`, e.g. `['127.0.0.1']`. */
function listeningAddresses(port: number): string[] {
  if (!existsSync('/proc/net/tcp')) {
    throw new Error('this test reads /proc/net/tcp (Linux); run it on Linux');
  }
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state] = [fields[1], fields[2], fields[3]];
      if (!local || state !== '0A') continue; // 0A: LISTEN
      const [hex, portHex] = local.split(':') as [string, string];
      if (Number.parseInt(portHex, 16) !== port) continue;
      out.push(decodeAddress(hex));
    }
  }
  return out;
}

/** /proc/net's little-endian hex address: 0100007F -> 127.0.0.1; 32 hex digits for IPv6. */
function decodeAddress(hex: string): string {
  if (hex.length === 8) {
    return [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  const words = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = [3, 2, 1, 0].map((i) => word.slice(i * 2, i * 2 + 2)).join('');
    words.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  return words.map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}

/** This machine's IPv4 addresses that are not loopback (none in some containers). */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => (a as { address: string }).address);
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function expectLoopbackOnly(port: number): Promise<void> {
  expect(listeningAddresses(port)).toEqual(['127.0.0.1']);
  for (const address of externalAddresses()) expect(await refused(address, port)).toBe(true);
}

let sim: Simulator | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

describe('the simulator binds loopback by default', () => {
  it('startSimulator() listens on 127.0.0.1 only', async () => {
    sim = await startSimulator({ provider: 'anthropic' });
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    await expectLoopbackOnly(sim.port);
  });

  it('reads the listening table right: an explicit 0.0.0.0 shows as 0.0.0.0', async () => {
    sim = await startSimulator({ provider: 'anthropic', host: '0.0.0.0' });
    expect(listeningAddresses(sim.port)).toEqual(['0.0.0.0']);
  });

  it('`llm-resilience simulator` listens on 127.0.0.1 only, and prints neither its API key nor prompts', async () => {
    const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
    child = spawn(process.execPath, ['--import', 'tsx', bin, 'simulator', '--api-key', KEY], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [host, port] = await new Promise<[string, number]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${stdout}`)), 20_000);
      child?.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /at http:\/\/([^\s:]+):(\d+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve([match[1] as string, Number(match[2])]);
        }
      });
    });
    expect(host).toBe('127.0.0.1');
    await expectLoopbackOnly(port);

    // A call with the key and one with a wrong key, both with the prompt; then the stats.
    const url = `http://127.0.0.1:${port}`;
    const params = {
      model: 'claude-sonnet-4-6',
      max_tokens: 8,
      messages: [{ role: 'user' as const, content: PROMPT }],
    };
    await new Anthropic({ baseURL: url, apiKey: KEY, maxRetries: 0 }).messages.create(params);
    await expect(
      new Anthropic({ baseURL: url, apiKey: `${KEY}-wrong`, maxRetries: 0 }).messages.create(
        params,
      ),
    ).rejects.toMatchObject({ status: 401 });
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
    expect(stdout).toContain('"requests": 2');
    for (const secret of ['LEAKCHECK', PROMPT]) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
  }, 30_000);
});
