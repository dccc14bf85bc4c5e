import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const page = readFileSync(`${root}docs/simulator.md`, 'utf8');
const examples = [...page.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1] ?? '')
  .filter((code) => code.includes('import '));
const dir = `${root}.tmp/docs-simulator`;

/** Runs a snippet with tsx, the package subpaths mapped onto the sources. */
function runExample(code: string, index: number): Promise<{ code: number | null; output: string }> {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/example-${index}.ts`;
  writeFileSync(
    file,
    code
      .replaceAll("'llm-resilience/simulator'", `'${root}src/simulator/index.ts'`)
      .replaceAll("'llm-resilience/testing'", `'${root}src/testing/index.ts'`),
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('exit', (exitCode) => resolve({ code: exitCode, output }));
  });
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/simulator.md', () => {
  it('has runnable examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.concurrent.each(examples.map((code, i) => [i, code] as const))(
    'example %i runs as written',
    async (i, code) => {
      const result = await runExample(code, i);
      expect(result.output).not.toMatch(/Error/);
      expect(result.code).toBe(0);
    },
  );
});
