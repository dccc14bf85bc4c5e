import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface WorkerRun {
  /** Per worker, the slot starts it was granted (Redis µs). */
  readonly starts: number[][];
}

/**
 * Spawns one `node --import tsx script config` per config, waits until all print `ready`, sends
 * `go` to all at once, and collects the JSON line each prints at the end.
 */
export async function runWorkers(script: string, configs: readonly object[]): Promise<WorkerRun> {
  const children: ChildProcess[] = [];
  try {
    const results = configs.map((config) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      const lines = createInterface({ input: child.stdout! });
      let onReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => {
        onReady = resolve;
      });
      const result = new Promise<number[]>((resolve, reject) => {
        lines.on('line', (line) => {
          if (line === 'ready') onReady();
          else if (line.startsWith('{')) resolve((JSON.parse(line) as { starts: number[] }).starts);
        });
        child.once('exit', (code) =>
          reject(new Error(`worker exited with ${code} before reporting`)),
        );
      });
      return { child, ready, result };
    });
    await Promise.race([
      Promise.all(results.map((r) => r.ready)),
      Promise.all(results.map((r) => r.result)),
    ]);
    for (const { child } of results) child.stdin!.write('go\n');
    return { starts: await Promise.all(results.map((r) => r.result)) };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Jain's fairness index of shares: 1 when equal, 1/n when one takes all. */
export function jainIndex(shares: readonly number[]): number {
  const sum = shares.reduce((a, b) => a + b, 0);
  const squares = shares.reduce((a, b) => a + b * b, 0);
  return (sum * sum) / (shares.length * squares);
}

/**
 * GCRA bound on grants whose starts are `starts`: n grants from s_1 to s_n need
 * n <= burst + floor((s_n - s_1) / emission interval), whatever the state before s_1.
 */
export function gcraBound(starts: readonly number[], burst: number, intervalUs: number): number {
  const first = Math.min(...starts);
  const last = Math.max(...starts);
  return burst + Math.floor((last - first) / intervalUs);
}
