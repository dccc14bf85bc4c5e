/**
 * `llm-resilience plan` run as users run it: the bin in a child process, its exit code, its
 * JSON's fields and its text's binding line; bad arguments exit 2 with a message that names the
 * argument. The pipeline options it recommends are then given to the real `anthropicPolicy` /
 * `openaiPolicy`, which accept them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findPreset } from '../../policies/find-preset.js';
import { parsePlanArgs } from '../../src/cli/commands/plan-args.js';
import { commands } from '../../src/cli/main.js';
import { buildReport, type PlanReport } from '../../src/cli/plan-report.js';
import { anthropicPolicy, demandRecorder, openaiPolicy } from '../../src/index.js';
import { planCapacity } from '../../src/planning/capacity-plan.js';
import { ManualClock } from '../../src/testing/index.js';

const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llmr-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function plan(...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', bin, 'plan', ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const SEED = ['--limits', 'rpm=2000,itpm=160000,otpm=32000'];
const SEED_TRAFFIC = ['--traffic', 'calls=100,input=3000,output=500'];

describe('llm-resilience plan (child process)', () => {
  it("names seed 004's binding limit in its text: input tokens, 53 calls a minute", async () => {
    const { code, stdout, stderr } = await plan(...SEED, ...SEED_TRAFFIC);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Binding: itpm \(at most 53 calls\/min; 100 wanted: does NOT fit\)$/m);
    expect(stdout).toContain('anthropicPolicy({');
  });

  it('prints one JSON object with --json: binding, maxCallsPerMinute, each limit', async () => {
    const { code, stdout } = await plan(...SEED, ...SEED_TRAFFIC, '--json', '--latency-ms', '6000');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as PlanReport;
    expect(report.binding).toBe('itpm');
    expect(report.maxCallsPerMinute).toBe(53);
    expect(report.fits).toBe(false);
    expect(report.dimensions.map((d) => [d.name, d.demand, d.headroom])).toEqual([
      ['rpm', 100, 1_900],
      ['itpm', 300_000, -140_000],
      ['otpm', 50_000, -18_000],
    ]);
    expect(report.latencyMs).toBe(6_000);
    // 53 calls a minute of 6 s each: 5.3 in flight, a cap of 6 in one worker.
    expect(report.recommended).toMatchObject({ inFlightCap: 6, workers: 1 });
  });

  it("plans from a preset row: Anthropic build's sonnet-4.x limits, output binding", async () => {
    const { code, stdout } = await plan(
      ...['--provider', 'anthropic', '--tier', 'build', '--model', 'claude-sonnet-4-5'],
      ...['--traffic', 'calls=3000,input=1000,output=2000', '--json'],
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as PlanReport;
    const row = findPreset({ provider: 'anthropic', tier: 'build', model: 'claude-sonnet-4-5' });
    expect(report.preset).toMatchObject({ tier: 'build', modelClass: 'sonnet-4.x' });
    expect(report.counting.outputTokens).toBe(row.outputTokens);
    expect(report.binding).toBe('otpm');
    expect(report.maxCallsPerMinute).toBe(Math.floor(row.limits.otpm / 2000));
  });

  it("sizes on the p95 minute of the demand recorder's report", async () => {
    // 50 calls in one minute, each 2,000 prompt tokens (half of them cache reads), 300 output.
    const clock = new ManualClock(1_764_500_400_000);
    const recorder = demandRecorder({ clock, provider: 'openai' });
    for (let i = 0; i < 50; i++) {
      recorder.record({ inputTokens: 2_000, outputTokens: 300, cachedInputTokens: 1_000 });
    }
    const file = join(dir, 'demand.json');
    writeFileSync(file, JSON.stringify(recorder));
    const { code, stdout } = await plan(
      ...['--tier', 'tier-1', '--model', 'gpt-4o-mini', '--demand', file],
      ...['--max-tokens', '1000', '--latency-ms', '4000', '--json'],
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as PlanReport;
    const row = findPreset({ provider: 'openai', tier: 'tier-1', model: 'gpt-4o-mini' });
    expect(report.provider).toBe('openai');
    expect(report.callsPerMinute).toBe(50);
    expect(report.traffic).toMatchObject({
      inputTokens: 2_000,
      outputTokens: 300,
      maxTokens: 1_000,
      cacheReadShare: 0.5,
    });
    // tier-1 gpt-4o-mini carries 10,000 requests a day: 6 calls a minute, all day long.
    expect(row.limits.rpd).toBe(10_000);
    expect(report.binding).toBe('rpd');
    expect(report.maxCallsPerMinute).toBe(6);
  });

  it.each([
    [['--traffic', 'calls=abc,input=3000,output=500'], '--traffic calls'],
    [['--traffic', 'calls=100,input=3000'], '--traffic'],
    [['--traffic', 'calls=100,input=3000,output=500,colour=blue'], '--traffic'],
    [['--traffic', 'calls=100,input=3000,output=500,max_tokens=100'], '--traffic'],
    [['--traffic', 'calls=100,input=3000,output=500,cache=2'], '--traffic'],
    [['--limits', 'rpm=0'], '--limits'],
    [['--limits', 'rpm=10,tpm=100,otpm=10'], '--limits'],
    [['--utilization', '1.5'], '--utilization'],
    [['--latency-ms', '-1'], '--latency-ms'],
    [['--output-tokens', 'some'], '--output-tokens'],
    [['--workers', '0'], '--workers'],
    [['--bogus'], '--bogus'],
  ])('exits 2 on %j, naming %s', async (args, named) => {
    const base = [...SEED, ...SEED_TRAFFIC];
    // The argument under test replaces its default.
    const flag = args[0]!;
    const i = base.indexOf(flag);
    const argv = i >= 0 ? [...base.slice(0, i), ...base.slice(i + 2), ...args] : [...base, ...args];
    const { code, stdout, stderr } = await plan(...argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(named);
  });

  it.each([
    [['--provider', 'anthropic', '--tier', 'platinum', '--model', 'claude-sonnet-4-5'], '--tier'],
    [['--provider', 'anthropic', '--tier', 'build', '--model', 'claude-sonet-4-5'], '--model'],
    [['--provider', 'anthropik', '--tier', 'build', '--model', 'claude-sonnet-4-5'], '--provider'],
    [['--provider', 'anthropic', '--tier', 'build'], '--model'],
    [[], '--limits'],
  ])('exits 2 on a preset that does not exist (%j), naming %s', async (args, named) => {
    const { code, stderr } = await plan(...args, ...SEED_TRAFFIC);
    expect(code).toBe(2);
    expect(stderr).toContain(named);
  });

  it('exits 2 naming --demand for a missing or malformed demand file', async () => {
    const missing = await plan(...SEED, '--demand', join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--demand');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ version: 1, windowMs: 'a minute' }));
    const bad = await plan(...SEED, '--demand', file);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--demand');
    expect(bad.stderr).toContain('windowMs');
  });

  it('prints its help and exits 0', async () => {
    const { code, stdout } = await plan('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('--traffic');
    expect(commands.some((c) => c.name === 'plan')).toBe(true);
  });
});

describe('the recommended pipeline options', () => {
  /** The snippet's call, evaluated against the real factory. */
  function construct(snippet: string, factory: unknown): unknown {
    const code = snippet
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('//'))
      .join('\n');
    return new Function('anthropicPolicy', 'openaiPolicy', `return ${code};`)(factory, factory);
  }

  function report(argv: string[]): PlanReport {
    const parsed = parsePlanArgs(argv, () => '');
    if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed));
    const { request } = parsed;
    return buildReport(request, planCapacity({ ...request }));
  }

  it.each([
    [[...SEED, ...SEED_TRAFFIC], anthropicPolicy],
    [[...SEED, ...SEED_TRAFFIC, '--utilization', '0.7', '--workers', '4'], anthropicPolicy],
    [
      [
        ...['--provider', 'anthropic', '--tier', 'tier-2', '--model', 'claude-sonnet-4-5'],
        ...['--traffic', 'calls=400,input=2000,output=300,max_tokens=800'],
      ],
      anthropicPolicy,
    ],
    [
      [
        ...['--provider', 'openai', '--tier', 'tier-3', '--model', 'gpt-4o'],
        ...['--traffic', 'calls=2000,input=1500,output=400,max_tokens=1000,cache=0.5'],
      ],
      openaiPolicy,
    ],
    [['--limits', 'rpm=500,tpm=200000', '--traffic', 'calls=10,input=10,output=10'], openaiPolicy],
  ])('are accepted by the pipeline as printed (%j)', (argv, factory) => {
    const { recommended } = report(argv);
    expect(recommended?.snippet).toBeDefined();
    const policy = construct(recommended!.snippet!, factory) as { inspect(): unknown };
    expect(typeof policy.inspect).toBe('function');
  });

  it('split the in-flight cap between the workers asked for', () => {
    // 53 calls a minute of 60 s: 53 in flight, 4 workers of 14.
    const { recommended } = report([
      ...SEED,
      ...SEED_TRAFFIC,
      '--latency-ms',
      '60000',
      '--workers',
      '4',
    ]);
    expect(recommended).toMatchObject({ inFlightCap: 53, workers: 4, maxConcurrentPerWorker: 14 });
    expect(recommended?.options).toMatchObject({ bulkhead: { maxConcurrent: 14 } });
  });
});
