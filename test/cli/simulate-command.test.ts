/**
 * `llm-resilience simulate` as users run it: the CLI started as a process (tsx on src/cli/bin.ts),
 * short runs in compressed time, the table it prints, the JSON and the SVG it writes, the Redis
 * path, and bad arguments refused with exit code 2 and a message. Real time, so few runs, and
 * only sanity bounds on the figures (the machine is shared and busy).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSimulateArgs, STRATEGY_NAMES } from '../../src/cli/simulate/args.js';
import { shareTooSmall, workerShare } from '../../src/cli/simulate/strategies.js';
import { importPeer, MissingPackageError } from '../../src/cli/simulate/traffic.js';
import { redisUrl } from '../support/redis.js';
import { expectReport, expectReportShape, expectSvgChart } from '../support/simulate-report.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llmr-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const { REDIS_URL: _, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'src/cli/bin.ts'), ...args],
      { cwd: dir, env: { ...inherited, ...env }, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('llm-resilience simulate', () => {
  it('runs each strategy on the same traffic and prints the table, the JSON and the SVG', {
    timeout: 120_000,
  }, async () => {
    const json = join(dir, 'out', 'figures.json');
    const svg = join(dir, 'out', 'chart.svg');
    const { code, stdout, stderr } = await cli([
      'simulate',
      '--quick',
      '--strategies',
      'llm-resilience,naive',
      '--json',
      json,
      '--svg',
      svg,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('per second: time is compressed');
    // Already compressed: the note on a short run asks for a longer one only.
    expect(stdout).toContain('Give --duration 3 or more.');
    expect(stdout).toContain('No Redis');
    // Each worker is a child process: without Redis nothing in memory is shared between them.
    expect(stdout).toContain('Each worker is a process of its own');
    const table = stdout.slice(stdout.indexOf('┌'));
    for (const header of ['strategy', 'provider 429s', 'billed requests', 'goodput', 'fairness'])
      expect(table).toContain(header);
    expect(table).toMatch(/│ llm-resilience +│/);
    expect(table).toMatch(/│ naive +│/);

    const strategies = expectReport(JSON.parse(readFileSync(json, 'utf8')), [
      'llm-resilience',
      'naive',
    ]);
    expect(strategies[0]!.note).toBe(
      'no Redis: an in-memory budget in each worker process at 1/4 of the quota (rpm=15,itpm=15000,otpm=1500)',
    );
    expect(strategies[0]!.perWorker).toHaveLength(4);
    // The default quota is far below the demand: without a limiter the provider refuses calls.
    expect(strategies[1]!.provider429).toBeGreaterThan(0);

    expectSvgChart(readFileSync(svg, 'utf8'), 'llm-resilience');
  });

  it("shares the peers' budgets through Redis when given --redis, and says so", {
    timeout: 120_000,
  }, async () => {
    const json = join(dir, 'redis.json');
    const { code, stdout, stderr } = await cli([
      'simulate',
      '--quick',
      '--strategies',
      'llm-resilience,rate-limiter-flexible,bottleneck',
      '--redis',
      await redisUrl(),
      '--no-svg',
      '--json',
      json,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Redis at redis:\/\//);
    const strategies = expectReport(JSON.parse(readFileSync(json, 'utf8')), [
      'llm-resilience',
      'rate-limiter-flexible',
      'bottleneck',
    ]);
    expect(strategies[1]!.note).toContain('RateLimiterRedis');
    expect(strategies[2]!.note).toContain('clustered through Redis');
    expect(strategies[0]!.note).toBe('one budget shared through Redis');
  });

  it('goes on in memory when the Redis given does not answer, and says so first', {
    timeout: 120_000,
  }, async () => {
    const json = join(dir, 'no-redis.json');
    const { code, stdout, stderr } = await cli([
      'simulate',
      '--quick',
      '--strategies',
      'llm-resilience,rate-limiter-flexible',
      '--redis',
      // Nothing listens on port 1.
      'redis://127.0.0.1:1',
      '--no-svg',
      '--json',
      json,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(0, 6).join('\n')).toMatch(
      /No Redis answered at redis:\/\/127\.0\.0\.1:1 within 2 s, so the run goes on without it/,
    );
    const strategies = expectReport(JSON.parse(readFileSync(json, 'utf8')), [
      'llm-resilience',
      'rate-limiter-flexible',
    ]);
    expect(strategies[1]!.note).toContain('RateLimiterMemory');
    expect(strategies[1]!.succeeded).toBeGreaterThan(0);
  });

  it('ends on time when every call is refused at once, and skips a share too small for one call', {
    timeout: 120_000,
  }, async () => {
    // otpm 100 is below one call's max_tokens (512): the pipeline refuses each call at once.
    const json = join(dir, 'refused.json');
    const { code, stdout, stderr } = await cli([
      'simulate',
      '--quick',
      '--limits',
      'rpm=60,itpm=60000,otpm=100',
      '--workers',
      '2',
      '--strategies',
      'llm-resilience,per-process',
      '--no-svg',
      '--json',
      json,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      "llm-resilience: skipped, without Redis each of the 2 workers gets 1/2 of the quota, and its otpm share (50) is below one call's 512",
    );
    const [perProcess] = expectReportShape(JSON.parse(readFileSync(json, 'utf8')), ['per-process']);
    expect(perProcess!.succeeded).toBe(0);
    expect(perProcess!.failed).toBeGreaterThan(0);
    expect(Object.keys(perProcess!.errors as object)).toEqual(['CostExceedsCapacityError']);
  });

  it('refuses bad arguments with exit code 2 and a message, before starting anything', {
    timeout: 60_000,
  }, async () => {
    const provider = await cli(['simulate', '--provider', 'gemini']);
    expect(provider.code).toBe(2);
    expect(provider.stderr).toContain('--provider must be anthropic or openai, got "gemini"');
    expect(provider.stdout).toBe('');
    const unknown = await cli(['simulate', '--worker', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--worker'");
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('simulate arguments', () => {
  const error = (...argv: string[]) => {
    const parsed = parseSimulateArgs(argv);
    return parsed.kind === 'error' ? parsed.message : `no error: ${parsed.kind}`;
  };

  it('names the argument, what it takes and what it got', () => {
    expect(error('--strategies', 'naive,nope')).toContain('unknown: "nope"');
    expect(error('--strategies', 'naive,naive')).toContain('twice');
    expect(error('--duration=-1')).toBe('--duration must be a number in [0.5, 86400], got "-1"');
    expect(error('--workers', '2.5')).toBe('--workers must be an integer >= 1, got "2.5"');
    expect(error('--stream', '1.5')).toContain('--stream must be a number in [0, 1]');
    expect(error('--period-ms', '5000')).toContain('1000 (compressed) or 60000 (real time)');
    expect(error('--limits', 'rpm=10,tpm=5')).toContain('anthropic meters rpm, itpm, otpm');
    expect(error('--limits', 'rpm=ten')).toContain('name=positive integer pairs');
    expect(error('--tier', 'build', '--limits', 'rpm=1')).toContain('exclusive');
    expect(error('--tier', 'buidl')).toContain('build');
    expect(error('--output-tokens', '300-50')).toContain('1 <= a <= b');
    expect(error('--redis', 'localhost:6379')).toContain('redis:// or rediss:// URL');
    expect(error('--svg', 'a.svg', '--no-svg')).toContain('exclusive');
    expect(error('--output-counting', 'maybe')).toContain('generated or max_tokens');
    expect(error('--provider', 'openai', '--output-counting', 'generated')).toContain(
      'OpenAI charges max_tokens',
    );
  });

  it('takes a preset tier in real time, and REDIS_URL when no --redis is given', () => {
    const parsed = parseSimulateArgs(['--provider', 'openai', '--tier', 'tier-1'], {
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    expect(parsed.kind).toBe('run');
    if (parsed.kind !== 'run') return;
    expect(parsed.scenario.periodMs).toBe(60_000);
    expect(Object.keys(parsed.scenario.quota).sort()).toEqual(['rpm', 'tpm']);
    expect(parsed.scenario.redis).toBe('redis://127.0.0.1:6379');
    expect(parsed.scenario.strategies).toEqual(STRATEGY_NAMES);
  });
});

describe("a worker's share of the quota without Redis", () => {
  const scenario = (...argv: string[]) => {
    const parsed = parseSimulateArgs(argv);
    if (parsed.kind !== 'run') throw new Error(`not a run: ${JSON.stringify(parsed)}`);
    return parsed.scenario;
  };

  it('is the configured quota over the workers, rounded down', () => {
    expect(workerShare(scenario('--workers', '3', '--limit-factor', '2'))).toEqual({
      rpm: 40,
      itpm: 40_000,
      otpm: 4_000,
    });
    expect(shareTooSmall(scenario('--workers', '4'))).toBeUndefined();
  });

  it('is refused, naming the dimension, when it cannot carry one call', () => {
    // 6,000 otpm over 16 workers is 375 each, below one call's max_tokens of 512.
    expect(shareTooSmall(scenario('--workers', '16'))).toContain(
      "its otpm share (375) is below one call's 512",
    );
  });
});

describe('optional packages', () => {
  it('a missing one is a MissingPackageError saying what to install, not a crash', async () => {
    const error = await importPeer('llm-resilience-no-such-package').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingPackageError);
    expect((error as Error).message).toContain('npm install llm-resilience-no-such-package');
    expect(new MissingPackageError('@observablehq/plot', 'linkedom').message).toBe(
      'this needs the packages "@observablehq/plot" and "linkedom", which are not installed here: npm install @observablehq/plot linkedom',
    );
  });
});
