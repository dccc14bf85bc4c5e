/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball into an empty app
 * together with cockatiel, the current SDKs and the chart's optional peers from the registry. Tests that import src/ cannot
 * see what this sees: the bin started through npm's `.bin` symlink, the dependency tree npm
 * builds from our peer ranges, and classes compared across the package boundary.
 *
 * Needs the npm registry; when it is unreachable the install fails with a message saying so (a
 * skip would hide that the package was never tried). Every child runs on the Node running this
 * test, so `.ci/run` covers each supported Node version; on an older Node than `engines` allows
 * (this machine's system Node is 20) they run on the oldest supported one, fetched with npx.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { expectReport, expectSvgChart } from '../support/simulate-report.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// A parent npm (`npm test`, `npx -p node@22 ...`) exports its whole configuration as npm_*
// variables, which would steer the nested npm: `npm_config_local_prefix` installs into this
// repository, `npm_config_package` makes every npx fetch the parent's package first. Only the
// settings that say how to reach the registry pass through.
const PASSED_NPM =
  /^npm_config_(registry|cache|userconfig|globalconfig|cafile|ca|cert|key|proxy|https_proxy|noproxy|strict_ssl|fetch_\w+)$/i;

/** The Node every child runs on; its directory goes first on PATH, for npm, npx and bins. */
let node = process.execPath;

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name) || PASSED_NPM.test(name)) env[name] = value;
  }
  env.PATH = [dirname(node), process.env.PATH].join(delimiter);
  return env;
}

// `npx --no` would take `--help` as npx's own flag; `--yes=false` never installs a missing bin.
const NPX_LOCAL = ['--yes=false'] as const;

/** `npx llm-resilience <args>` in `cwd`, as a user of the installed package runs it. */
function cli(args: readonly string[], cwd: string): Promise<Outcome> {
  return run('npx', [...NPX_LOCAL, 'llm-resilience', ...args], cwd);
}

function run(command: string, args: readonly string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** This Node when `engines` allows it, else the oldest major it allows (from the registry). */
async function supportedNode(cwd: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  const oldest = /^>=(\d+)$/.exec(manifest.engines.node)?.[1];
  if (!oldest) throw new Error(`engines.node should read ">=N", got "${manifest.engines.node}"`);
  if (Number(process.versions.node.split('.')[0]) >= Number(oldest)) return process.execPath;
  const { stdout } = await runOk(
    'npx',
    ['-y', '-p', `node@${oldest}`, 'node', '-p', 'process.execPath'],
    cwd,
    `Fetching Node ${oldest} (this is Node ${process.versions.node}, below engines)`,
  );
  return stdout.trim();
}

async function runOk(command: string, args: readonly string[], cwd: string, what: string) {
  const outcome = await run(command, args, cwd);
  if (outcome.code !== 0) {
    throw new Error(
      `${what} failed (\`${command} ${args.join(' ')}\` exited ${outcome.code}):\n${outcome.stderr.slice(-4000)}`,
    );
  }
  return outcome;
}

// Runs in the app: the library's circuit opens on a real SDK error from the simulator and then
// throws cockatiel's BrokenCircuitError, which must be the app's own cockatiel's class; the
// policy sits inside cockatiel's own `wrap` next to cockatiel's own `timeout`.
const CHECK_SCRIPT = `
import { BrokenCircuitError, TimeoutStrategy, timeout, wrap } from 'cockatiel';
import OpenAI from 'openai';
import * as library from 'llm-resilience';
import { startSimulator } from 'llm-resilience/simulator';

const sim = await startSimulator({ provider: 'openai', faults: { rates: { server_error: 1 } } });
try {
  const client = new OpenAI({ baseURL: sim.url + '/v1', apiKey: 'test', maxRetries: 0 });
  const breaker = library.circuitBreakerPolicy({ consecutiveFailures: 1, halfOpenAfterMs: 60_000 });
  const policy = wrap(timeout(20_000, TimeoutStrategy.Aggressive), breaker);
  const call = () =>
    client.chat.completions.create({
      model: 'gpt-4o',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
  const first = await policy.execute(call).then(() => undefined, (error) => error);
  const second = await policy.execute(call).then(() => undefined, (error) => error);
  console.log(JSON.stringify({
    firstIsAppsSdkError: first instanceof OpenAI.InternalServerError,
    firstKind: library.classifyError(first).kind,
    secondIsAppsBrokenCircuitError: second instanceof BrokenCircuitError,
    secondName: second?.constructor?.name,
    reexportIsAppsClass: library.BrokenCircuitError === BrokenCircuitError,
    state: breaker.inspect().state,
  }));
} finally {
  await sim.close();
}
`;

// Runs in a second app, with ioredis: a pipeline's budget shared through Redis, for `inspect` to
// read. Two calls to a simulator whose headers report a lower output limit than configured.
const BUDGET_SCRIPT = `
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { anthropicPolicy } from 'llm-resilience';
import { startSimulator } from 'llm-resilience/simulator';

const [url, key] = process.argv.slice(2);
const sim = await startSimulator({
  provider: 'anthropic',
  outputTokens: 20,
  limits: { rpm: 6, itpm: 30_000, otpm: 6_000 },
});
const redis = new Redis(url);
const policy = anthropicPolicy({ limits: { rpm: 6, itpm: 30_000, otpm: 8_000 }, redis, key });
try {
  const client = new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, fetch: policy.fetch });
  for (let i = 0; i < 2; i++) {
    await policy.execute(() =>
      client.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
  }
} finally {
  policy.dispose();
  await redis.quit();
  await sim.close();
}
`;

describe('the packed tarball installed into an empty app with the current SDKs', () => {
  let work: string;
  let app: string;
  let tarballPath: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'llm-resilience-package-'));
    app = join(work, 'app');
    node = await supportedNode(work);
    await runOk('npm', ['run', 'build'], root, 'Building the package');
    // Scripts were run by the build above; --ignore-scripts keeps pack's output to the tarball.
    await runOk(
      'npm',
      ['pack', '--ignore-scripts', '--pack-destination', work],
      root,
      'Packing the package',
    );
    const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack wrote no .tgz into ${work}`);
    tarballPath = join(work, tarball);

    await mkdir(app);
    await writeFile(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
    );
    await writeFile(join(app, 'check.mjs'), CHECK_SCRIPT);
    const install = await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--engine-strict',
        join(work, tarball),
        'cockatiel',
        'openai',
        '@anthropic-ai/sdk',
        // Optional peers of the package, for simulate's chart alone.
        '@observablehq/plot',
        'linkedom',
      ],
      app,
    );
    if (install.code !== 0) {
      throw new Error(
        `npm install of the tarball with cockatiel, openai, @anthropic-ai/sdk, @observablehq/plot ` +
          `and linkedom from the npm ` +
          `registry failed (exit ${install.code}). This test needs the registry: is it reachable ` +
          `from here? npm said:\n${install.stderr.slice(-4000)}`,
      );
    }
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs every child on this Node, or on the oldest supported one when this one is older', async () => {
    const { stdout } = await runOk('node', ['-p', 'process.execPath'], app, 'node -p');
    expect(stdout.trim()).toBe(node);
    const major = Number(process.versions.node.split('.')[0]);
    if (major >= 22) expect(node).toBe(process.execPath);
    else expect(node).not.toBe(process.execPath);
  });

  it('prints the usage and exits 0 for `npx llm-resilience --help`', async () => {
    // The bin is npm's symlink, the case where an "am I the entry?" path check did nothing.
    const bin = join(app, 'node_modules', '.bin', 'llm-resilience');
    expect((await lstat(bin)).isSymbolicLink()).toBe(true);
    const outcome = await cli(['--help'], app);
    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    expect(outcome.stdout).toContain('Usage: llm-resilience <command>');
    expect(outcome.stdout).toContain('simulator');
  }, 60_000);

  it("prints the simulator's usage and exits 0 for `npx llm-resilience simulator --help`", async () => {
    const outcome = await cli(['simulator', '--help'], app);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('Usage: llm-resilience simulator');
  }, 60_000);

  it('`npx llm-resilience simulate --quick` writes the figures as JSON and an SVG chart, skipping a peer that is not installed', async () => {
    const outcome = await cli(
      [
        'simulate',
        '--quick',
        '--strategies',
        'llm-resilience,naive,bottleneck',
        '--json',
        'out/simulate.json',
        '--svg',
        'out/simulate.svg',
      ],
      app,
    );
    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    // bottleneck is a development dependency of this repository, not of the package.
    expect(outcome.stdout).toContain('bottleneck: skipped');
    expect(outcome.stdout).toContain('npm install bottleneck');
    const report = JSON.parse(await readFile(join(app, 'out', 'simulate.json'), 'utf8'));
    expectReport(report, ['llm-resilience', 'naive']);
    expectSvgChart(await readFile(join(app, 'out', 'simulate.svg'), 'utf8'), 'llm-resilience');
  }, 120_000);

  it("`npx llm-resilience plan --json` names seed 004's binding limit", async () => {
    const outcome = await cli(
      [
        'plan',
        '--limits',
        'rpm=2000,itpm=160000,otpm=32000',
        '--traffic',
        'calls=100,input=3000,output=500',
        '--json',
      ],
      app,
    );
    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(outcome.stdout) as { binding: string; maxCallsPerMinute: number };
    expect(report.binding).toBe('itpm');
    expect(report.maxCallsPerMinute).toBe(53);
  }, 60_000);

  describe('in an app that shares budgets through Redis', () => {
    let redisApp: string;

    beforeAll(async () => {
      redisApp = join(work, 'redis-app');
      await mkdir(redisApp);
      await writeFile(
        join(redisApp, 'package.json'),
        `${JSON.stringify({ name: 'redis-app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
      );
      await writeFile(join(redisApp, 'budget.mjs'), BUDGET_SCRIPT);
      await runOk(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--engine-strict',
          tarballPath,
          'cockatiel',
          '@anthropic-ai/sdk',
          'ioredis',
        ],
        redisApp,
        'npm install of the tarball with cockatiel, @anthropic-ai/sdk and ioredis',
      );
    }, 600_000);

    it('`npx llm-resilience simulate` without the optional chart packages writes the figures and says what to install for the chart', async () => {
      const outcome = await cli(
        [
          'simulate',
          '--quick',
          '--strategies',
          'naive',
          '--workers',
          '1',
          '--json',
          'out/simulate.json',
        ],
        redisApp,
      );
      expect(outcome).toMatchObject({ code: 0, stderr: '' });
      expect(outcome.stdout).toContain(
        'No chart: this needs the packages "@observablehq/plot" and "linkedom", which are not installed here: npm install @observablehq/plot linkedom',
      );
      const report = JSON.parse(await readFile(join(redisApp, 'out', 'simulate.json'), 'utf8')) as {
        strategies: { name: string; succeeded: number }[];
      };
      expect(report.strategies.map((s) => s.name)).toEqual(['naive']);
      expect(report.strategies[0]!.succeeded).toBeGreaterThan(0);
    }, 120_000);

    it('`npx llm-resilience inspect` reads the budget a pipeline made, limits included', async () => {
      const url = await redisUrl();
      const key = uniquePrefix('tarball-inspect');
      await runOk('node', ['budget.mjs', url, key], redisApp, 'The pipeline script in the app');
      const outcome = await cli(['inspect', '--redis', url, '--key', key, '--json'], redisApp);
      expect(outcome).toMatchObject({ code: 0, stderr: '' });
      const snapshot = JSON.parse(outcome.stdout) as {
        budgets: {
          budget?: string;
          provider?: string;
          dimension?: string;
          limit?: number;
          configuredLimit?: number;
          available?: number;
        }[];
      };
      const byDimension = Object.fromEntries(snapshot.budgets.map((b) => [b.dimension, b]));
      expect(Object.keys(byDimension).sort()).toEqual(['itpm', 'otpm', 'rpm']);
      expect(byDimension.rpm).toMatchObject({ budget: key, provider: 'anthropic', limit: 6 });
      // Two calls of 6 a minute (one unit every 10 s): 4 left, or 5 if one refilled meanwhile.
      expect(byDimension.rpm!.available).toBeGreaterThanOrEqual(4);
      expect(byDimension.rpm!.available).toBeLessThanOrEqual(5);
      // The provider's lower output limit, adopted; the configured one kept beside it.
      expect(byDimension.otpm).toMatchObject({ limit: 6_000, configuredLimit: 8_000 });
    }, 120_000);
  });

  it('names an unknown command and exits 2', async () => {
    const outcome = await cli(['nosuchcommand'], app);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('Unknown command "nosuchcommand"');
    expect(outcome.stderr).toContain('Usage: llm-resilience');
  }, 60_000);

  it('leaves the app exactly one cockatiel', async () => {
    const outcome = await run('npm', ['ls', 'cockatiel', '--all', '--parseable'], app);
    expect(outcome.code).toBe(0);
    const copies = outcome.stdout.split('\n').filter((line) => line.trim() !== '');
    expect(copies).toEqual([join(app, 'node_modules', 'cockatiel')]);
  }, 60_000);

  it('installs no ioredis into an app that does not use Redis', async () => {
    const outcome = await run('npm', ['ls', 'ioredis', '--all', '--parseable'], app);
    expect(outcome.stdout.trim()).toBe('');
  }, 60_000);

  it("throws the app's own cockatiel and SDK error classes from the library's policies", async () => {
    const { stdout } = await runOk('node', ['check.mjs'], app, 'The check script in the app');
    expect(JSON.parse(stdout)).toEqual({
      firstIsAppsSdkError: true,
      firstKind: 'server',
      secondIsAppsBrokenCircuitError: true,
      secondName: 'BrokenCircuitError',
      reexportIsAppsClass: true,
      state: 'open',
    });
  }, 60_000);
});
