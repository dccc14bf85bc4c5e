/**
 * Every guide runs as written. Each ```ts block of docs/*.md is a complete program: it is written
 * to .tmp/ with the package's import paths pointed at src/, type-checked with the project's
 * compiler options, and run with tsx (against the real Redis of test/support/redis.ts). Examples
 * assert their own results with node:assert, so a wrong example fails here. Fragments that are
 * not meant to run are fenced ```typescript instead.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/redis.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, '.tmp', `docs-${process.pid}`);
const guides = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((file) => {
    const text = readFileSync(join(root, 'docs', file), 'utf8');
    return { file, blocks: [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string) };
  })
  .filter((g) => g.blocks.length > 0);

/** The package's own import paths, pointed at the sources. */
const SUBPATHS: Record<string, string> = {
  'llm-resilience': 'index.js',
  'llm-resilience/providers': 'providers/index.js',
  'llm-resilience/simulator': 'simulator/index.js',
  'llm-resilience/testing': 'testing/index.js',
};

function exampleFile(guide: string, index: number): string {
  return join(dir, `${guide.replace(/\.md$/, '')}-${index}.ts`);
}

describe('docs/*.md examples', () => {
  let url: string;
  beforeAll(async () => {
    url = await redisUrl();
    mkdirSync(dir, { recursive: true });
    for (const { file, blocks } of guides) {
      blocks.forEach((code, i) => {
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
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every guide with code has runnable examples', () => {
    expect(guides.map((g) => g.file)).toEqual(
      expect.arrayContaining([
        'limiter.md',
        'policies.md',
        'providers.md',
        'redis.md',
        'simulator.md',
      ]),
    );
  });

  it('every example type-checks', { timeout: 60_000 }, async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch(
      (e: { stdout?: string }) => ({ stdout: `FAILED\n${e.stdout ?? ''}` }),
    );
    expect(result.stdout).toBe('');
  });

  it.each(guides.map((g) => [g.file, g.blocks.length] as const))(
    '%s: every example runs and its assertions hold',
    { timeout: 60_000 },
    async (file, count) => {
      // One process imports the guide's examples in turn: one tsx start-up per guide.
      const runner = join(dir, `run-${file}.mjs`);
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
      const { stdout } = await run(process.execPath, ['--import', 'tsx', runner], {
        cwd: root,
        env: { ...process.env, REDIS_URL: url },
        timeout: 50_000,
      });
      const results = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
        file: string;
        ok: boolean;
        error?: string;
      }[];
      expect(results).toHaveLength(count);
      expect(results.filter((r) => !r.ok)).toEqual([]);
    },
  );
});
