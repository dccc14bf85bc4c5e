import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSimulatorArgs } from '../../src/cli/commands/simulator.js';
import { commands } from '../../src/cli/main.js';

describe('parseSimulatorArgs', () => {
  it('maps every option onto simulator options', () => {
    const parsed = parseSimulatorArgs([
      '--provider',
      'anthropic',
      '--rpm',
      '50',
      '--itpm',
      '30000',
      '--otpm',
      '8000',
      '--concurrent',
      '10',
      '--port',
      '8787',
      '--host',
      '0.0.0.0',
      '--latency-ms',
      '400',
      '--per-token-ms',
      '5',
      '--jitter',
      '0.2',
      '--fault-rate',
      '0.05',
      '--fault',
      'connection_reset=0.01',
      '--fault',
      'server_error=0.02',
      '--per-second',
      '--output-tokens',
      '10-200',
      '--slow-first-byte-ms',
      '3000',
      '--max-body-bytes',
      '1000',
      '--api-key',
      'sk-x',
      '--seed',
      '7',
    ]);
    expect(parsed).toEqual({
      kind: 'run',
      options: {
        provider: 'anthropic',
        limits: { rpm: 50, itpm: 30_000, otpm: 8000, concurrent: 10 },
        port: 8787,
        host: '0.0.0.0',
        perSecond: true,
        latencyMs: { firstTokenMs: 400, perTokenMs: 5, jitter: 0.2 },
        faults: {
          rates: { overloaded: 0.05, connection_reset: 0.01, server_error: 0.02 },
          slowFirstByteMs: 3000,
        },
        outputTokens: { min: 10, max: 200 },
        maxBodyBytes: 1000,
        apiKey: 'sk-x',
        seed: 7,
      },
    });
  });

  it('defaults to an Anthropic simulator on a free port with no limits', () => {
    expect(parseSimulatorArgs([])).toEqual({
      kind: 'run',
      options: {
        provider: 'anthropic',
        limits: {},
        port: 0,
        latencyMs: { firstTokenMs: 0, perTokenMs: 0, jitter: 0 },
        faults: { rates: {} },
      },
    });
    expect(parseSimulatorArgs(['--output-tokens', '12'])).toMatchObject({
      options: { outputTokens: 12 },
    });
  });

  it('answers --help and refuses bad input with a message', () => {
    expect(parseSimulatorArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseSimulatorArgs(['-h'])).toEqual({ kind: 'help' });
    for (const [argv, fragment] of [
      [['--provider', 'gemini'], '--provider'],
      [['--rpm', 'many'], '--rpm'],
      [['--rpm', ''], '--rpm'],
      [['--fault', 'meteor=0.1'], '--fault'],
      [['--output-tokens', 'ten'], '--output-tokens'],
      [['--bogus'], 'bogus'],
      [['positional'], 'positional'],
    ] as const) {
      const parsed = parseSimulatorArgs(argv);
      expect(parsed.kind).toBe('error');
      if (parsed.kind === 'error') expect(parsed.message).toContain(fragment);
    }
  });

  it('is registered as a lazily loaded command', async () => {
    const command = commands.find((c) => c.name === 'simulator');
    expect(command).toBeDefined();
    expect(typeof (await command?.load())?.run).toBe('function');
  });
});

describe('llm-resilience simulator (child process)', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('starts, serves the real SDK, and prints stats on SIGINT', async () => {
    const main = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
    child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'simulator', '--provider', 'openai', '--rpm', '1', '--tpm', '5000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child?.on('exit', (code) => resolve(code)),
    );
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${stdout}`)), 20_000);
      child?.stdout?.on('data', () => {
        const match = /Simulating openai at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'test', maxRetries: 0 });
    const body = {
      model: 'gpt-4o',
      max_tokens: 10,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    await client.chat.completions.create(body);
    await expect(client.chat.completions.create(body)).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const stats = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<string, unknown>;
    expect(stats).toMatchObject({
      provider: 'openai',
      requests: 2,
      statuses: { '200': 1, '429': 1 },
      dimensions: { rpm: { limit: 1, rejected: 1 } },
    });
  });
});
