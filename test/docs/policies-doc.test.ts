/**
 * Every ```ts example in docs/policies.md runs as written: each block is written to .tmp/ with
 * `llm-resilience` pointed at src/, type-checked with the project's compiler options, and run in
 * its own process (against the real Redis of test/support/redis.ts). Examples assert their own
 * results with node:assert, so a wrong example fails here.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/redis.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(root, 'docs', 'policies.md'), 'utf8');
const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const dir = join(root, '.tmp', `docs-${process.pid}`);

function fileFor(index: number): string {
  return join(dir, `example-${index}.ts`);
}

describe('docs/policies.md examples', () => {
  let url: string;
  beforeAll(async () => {
    url = await redisUrl();
    mkdirSync(dir, { recursive: true });
    blocks.forEach((code, i) => {
      const toSrc = relative(dir, join(root, 'src', 'index.js')).replaceAll('\\', '/');
      const rewritten = code.replaceAll("from 'llm-resilience'", `from '${toSrc}'`);
      // top-level await needs a module: every example imports, so it already is one
      writeFileSync(fileFor(i), rewritten);
    });
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

  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it('every example type-checks', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch(
      (e: { stdout?: string }) => ({ stdout: `FAILED\n${e.stdout ?? ''}` }),
    );
    expect(result.stdout).toBe('');
  });

  it('every example runs and its assertions hold', async () => {
    // One process imports the examples in turn (one tsx start-up instead of one per example).
    const runner = join(dir, 'run-all.mjs');
    writeFileSync(
      runner,
      `const results = [];
for (let i = 0; i < ${blocks.length}; i++) {
  try {
    await import(new URL('./example-' + i + '.ts', import.meta.url).href);
    results.push({ i, ok: true });
  } catch (error) {
    results.push({ i, ok: false, error: String(error && error.stack || error) });
  }
}
process.stdout.write('\\n' + JSON.stringify(results) + '\\n');
process.exit(0);
`,
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', runner], {
      cwd: root,
      env: { ...process.env, REDIS_URL: url },
      timeout: 30_000,
    });
    const results = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
      i: number;
      ok: boolean;
      error?: string;
    }[];
    expect(results).toHaveLength(blocks.length);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
