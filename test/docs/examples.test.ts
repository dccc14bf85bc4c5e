/**
 * Every guide runs as written. Each ```ts block of README.md and docs/*.md is a complete program:
 * it is written to .tmp/ with the package's import paths pointed at src/, type-checked with the
 * project's compiler options, and run with tsx, against the real Redis of test/support/redis.ts
 * (`REDIS_URL`), a real Redis Cluster (`REDIS_CLUSTER_NODES`) and a real Sentinel group
 * (`REDIS_SENTINELS`, master `mymaster`); examples that need a provider
 * start the simulator themselves, except those in the production form (an SDK client with no
 * `baseURL`), which reach the simulator this test starts through the SDKs' own variables
 * (`ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL`), as the README says to try them offline. Examples assert their own results with node:assert, so a wrong
 * example fails here, and one that writes to stderr (an SDK's deprecation warning, ioredis's
 * "Unhandled error event") fails too. Every other block is shell (```sh) or text (```text):
 * no TypeScript escapes the runner.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { redisUrl } from '../support/redis.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { type RedisSentinelGroup, startRedisSentinel } from '../support/redis-sentinel.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, '.tmp', `docs-${process.pid}`);

/** Languages of blocks that are not programs: commands to type, or text shown as is. */
const NOT_RUN = new Set(['sh', 'text']);

interface Block {
  readonly lang: string;
  readonly code: string;
}

function blocksOf(text: string): Block[] {
  return [...text.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] as string,
    code: m[2] as string,
  }));
}

const guides = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
].map((file) => {
  const blocks = blocksOf(readFileSync(join(root, file), 'utf8'));
  return { file, blocks, examples: blocks.filter((b) => b.lang === 'ts').map((b) => b.code) };
});
const runnable = guides.filter((g) => g.examples.length > 0);

/** The package's own import paths, pointed at the sources. */
const SUBPATHS: Record<string, string> = {
  'llm-resilience': 'index.js',
  'llm-resilience/providers': 'providers/index.js',
  'llm-resilience/simulator': 'simulator/index.js',
  'llm-resilience/testing': 'testing/index.js',
};

function exampleFile(guide: string, index: number): string {
  return join(dir, `${guide.replace(/\.md$/, '').replaceAll('/', '-')}-${index}.ts`);
}

describe('README.md and docs/*.md examples', () => {
  let url: string;
  let cluster: RedisCluster | undefined;
  let sentinel: RedisSentinelGroup | undefined;
  // The providers of the examples in the production form, reached through the SDKs' variables.
  let anthropic: Simulator | undefined;
  let openai: Simulator | undefined;
  beforeAll(async () => {
    [url, cluster, sentinel, anthropic, openai] = await Promise.all([
      redisUrl(),
      startRedisCluster(),
      startRedisSentinel(),
      startSimulator({ provider: 'anthropic' }),
      startSimulator({ provider: 'openai' }),
    ]);
    // docs/redis.md names the master as production configs usually do.
    expect(sentinel.name).toBe('mymaster');
    mkdirSync(dir, { recursive: true });
    for (const { file, examples } of runnable) {
      examples.forEach((code, i) => {
        let rewritten = code;
        for (const [name, target] of Object.entries(SUBPATHS)) {
          const to = relative(dir, join(root, 'src', target)).replaceAll('\\', '/');
          rewritten = rewritten.replaceAll(`from '${name}'`, `from '${to}'`);
        }
        // Every example is a module (top-level await), even one that imports nothing.
        writeFileSync(exampleFile(file, i), `${rewritten}\nexport {};\n`);
      });
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: relative(dir, join(root, 'tsconfig.json')),
        include: ['*.ts'],
        compilerOptions: { noEmit: true },
      }),
    );
  }, 90_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([cluster?.stop(), sentinel?.stop(), anthropic?.close(), openai?.close()]);
  });

  it('the README and every guide with code have runnable examples', () => {
    expect(runnable.map((g) => g.file)).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/limiter.md',
        'docs/policies.md',
        'docs/redis.md',
        'docs/simulator.md',
        'docs/providers.md',
        'docs/presets.md',
        'docs/pipelines.md',
      ]),
    );
  });

  it("the README's first example is a complete Anthropic pipeline in under 10 lines", () => {
    // The promise of the project's first screen: the pipeline, the SDK call in the mission's
    // form, nothing else to write. Run as written by the test below, like every example.
    const first = guides.find((g) => g.file === 'README.md')?.blocks[0];
    expect(first?.lang).toBe('ts');
    const code = first?.code ?? '';
    const lines = code.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeLessThan(10);
    expect(code).toMatch(/anthropicPolicy\(/);
    expect(code).toMatch(/wrap\(policy\)\.execute\(\(\) => client\.messages\.create\(/);
  });

  it('every block is a runnable ts example, a shell command (sh) or text', () => {
    const strays = guides.flatMap(({ file, blocks }) =>
      blocks
        .filter((b) => b.lang !== 'ts' && !NOT_RUN.has(b.lang))
        .map((b) => `${file}: \`\`\`${b.lang} ${b.code.split('\n')[0]}`),
    );
    expect(strays).toEqual([]);
  });

  it('every example type-checks', { timeout: 180_000 }, async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch(
      (e: { stdout?: string }) => ({ stdout: `FAILED\n${e.stdout ?? ''}` }),
    );
    expect(result.stdout).toBe('');
  });

  it.each(runnable.map((g) => [g.file, g.examples.length] as const))(
    '%s: every example runs, its assertions hold and it writes nothing to stderr',
    { timeout: 60_000 },
    async (file, count) => {
      // One process imports the guide's examples in turn: one tsx start-up per guide.
      const runner = join(dir, `run-${file.replaceAll('/', '-')}.mjs`);
      const files = Array.from(
        { length: count },
        (_, i) => pathToFileURL(exampleFile(file, i)).href,
      );
      writeFileSync(
        runner,
        `const results = [];
for (const file of ${JSON.stringify(files)}) {
  try {
    await import(file);
    results.push({ file, ok: true });
  } catch (error) {
    results.push({ file, ok: false, error: String((error && error.stack) || error) });
  }
}
process.stdout.write('\\n' + JSON.stringify(results) + '\\n');
process.exit(0);
`,
      );
      const nodes = (cluster?.nodes ?? []).map((n) => `${n.host}:${n.port}`).join(',');
      const sentinels = (sentinel?.sentinels ?? []).map((n) => `${n.host}:${n.port}`).join(',');
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', runner], {
        cwd: root,
        env: {
          ...process.env,
          REDIS_URL: url,
          REDIS_CLUSTER_NODES: nodes,
          REDIS_SENTINELS: sentinels,
          ANTHROPIC_BASE_URL: anthropic!.url,
          ANTHROPIC_API_KEY: 'test',
          OPENAI_BASE_URL: `${openai!.url}/v1`,
          OPENAI_API_KEY: 'test',
        },
        timeout: 55_000,
      });
      const results = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
        file: string;
        ok: boolean;
        error?: string;
      }[];
      expect(results).toHaveLength(count);
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(stderr).toBe('');
    },
  );
});
