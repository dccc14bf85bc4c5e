/**
 * `llm-resilience simulate` (what `npm start` runs): the same traffic through each strategy in
 * turn against the provider simulator, measured the same way; a live progress line, a summary
 * table, an SVG chart and, with --json, the figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runParsed } from '../command-args.js';
import { parseSimulateArgs, type Scenario, simulateUsage } from '../simulate/args.js';
import { maskRedisUrl, redisAnswers } from '../simulate/redis-connection.js';
import { chartSvg, reportOf, type SimulateReport, summaryTable } from '../simulate/report.js';
import { type Progress, runStrategy, type StrategyRunOutput } from '../simulate/run.js';
import { SHARING_STRATEGIES, shareTooSmall } from '../simulate/strategies.js';
import { MissingPackageError } from '../simulate/traffic.js';
import { WorkerPool } from '../simulate/worker-pool.js';

function describe(scenario: Scenario, redisNote: string): string {
  const quota = Object.entries(scenario.quota)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const period =
    scenario.periodMs === 1_000
      ? 'per second: time is compressed, one second stands for the provider minute'
      : 'per minute (real time)';
  const { traffic } = scenario;
  return [
    `Provider ${scenario.provider} (${scenario.model}), quota ${quota} ${period} (${scenario.quotaSource}).`,
    scenario.limitFactor !== 1
      ? `Strategies configured at ${scenario.limitFactor}x the real quota (misconfigured on purpose).`
      : 'Strategies configured at the real quota.',
    `${scenario.workers} workers x ${scenario.inFlightPerWorker} calls in flight, ${scenario.durationS} s per strategy; prompt ${traffic.promptTokens} tokens, output ${traffic.outputTokens.min}-${traffic.outputTokens.max} tokens, max_tokens ${traffic.maxTokens}, ${Math.round(traffic.streamShare * 100)}% streamed.`,
    `Each worker is a process of its own, with its own SDK client, limiters and connections. ${redisNote}`,
    ...(scenario.durationS * 1000 < 3 * scenario.periodMs
      ? [
          `Note: ${scenario.durationS} s is less than three periods of ${scenario.periodMs / 1000} s; the buckets start full, so the limits will hardly bind. Give --duration ${(3 * scenario.periodMs) / 1000} or more${scenario.periodMs === 1_000 ? '' : ', or compressed time (--limits with --period-ms 1000)'}.`,
        ]
      : []),
  ].join('\n');
}

function progressLine(p: Progress): string {
  const width = 20;
  const done = Math.min(width, Math.round((p.elapsedS / p.durationS) * width));
  return `${p.strategy.padEnd(22)} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.elapsedS.toFixed(1)}/${p.durationS} s  ok ${p.succeeded}  failed ${p.failed}  provider 429s ${p.provider429}`;
}

/** Runs the scenario's strategies in turn; the progress goes to `log` (a TTY line or plain lines). */
export async function simulate(
  scenario: Scenario,
  scenarioName: string,
  out: { line(text: string): void; progress(p: Progress): void; done(): void },
): Promise<{ report: SimulateReport; outputs: StrategyRunOutput[] }> {
  const inMemory = `a budget in memory cannot be shared between processes, so llm-resilience, rate-limiter-flexible and bottleneck give each worker 1/${scenario.workers} of the quota.`;
  let redisNote = `No Redis (give --redis URL or set REDIS_URL): ${inMemory}`;
  if (scenario.redis !== undefined) {
    if (await redisAnswers(scenario.redis)) {
      redisNote = `Redis at ${maskRedisUrl(scenario.redis)}: shared budgets go through it.`;
    } else {
      // Redis when one answers, else in process: the run goes on, and says so first.
      redisNote = `No Redis answered at ${maskRedisUrl(scenario.redis)} within 2 s, so the run goes on without it: ${inMemory}`;
      scenario = { ...scenario, redis: undefined };
    }
  }
  out.line(describe(scenario, redisNote));
  const outputs: StrategyRunOutput[] = [];
  const keyPrefix = `llmr-simulate:${process.pid}:${Date.now()}:`;
  const pool = await WorkerPool.start(scenario.workers);
  try {
    // The first calls of a process load and compile the SDK and the pipeline: 0.5 s on a small
    // machine, lost by whichever strategy ran first. A short unmeasured run pays it, with the
    // full quota in each worker (a worker's share may be too small for one call).
    await runStrategy(
      { ...scenario, durationS: 0.5, inFlightPerWorker: 2, redis: undefined },
      'per-process',
      { pool, redisUrl: undefined, keyPrefix: `${keyPrefix}warm-up:` },
    ).catch(() => {});
    const tooSmall = scenario.redis === undefined ? shareTooSmall(scenario) : undefined;
    for (const name of scenario.strategies) {
      if (tooSmall !== undefined && SHARING_STRATEGIES.includes(name)) {
        out.line(`${name}: skipped, ${tooSmall}.`);
        continue;
      }
      try {
        const output = await runStrategy(scenario, name, {
          pool,
          redisUrl: scenario.redis,
          keyPrefix,
          onProgress: (p) => out.progress(p),
        });
        out.done();
        out.line(
          `${name}: ${output.result.succeeded} succeeded, ${output.result.provider429} provider 429s; ${output.result.note}.`,
        );
        outputs.push(output);
      } catch (error) {
        out.done();
        if (!(error instanceof MissingPackageError)) throw error;
        out.line(`${name}: skipped, ${error.message}.`);
      }
    }
  } finally {
    await pool.close();
  }
  return {
    report: reportOf(scenarioName, scenario, scenario.redis !== undefined, outputs),
    outputs,
  };
}

/** A progress display: one line rewritten in place on a TTY, a plain line per second otherwise. */
async function progressOutput(tty: boolean) {
  if (tty) {
    const { default: logUpdate } = await import('log-update');
    return {
      line: (text: string) => console.log(text),
      progress: (p: Progress) => logUpdate(progressLine(p)),
      done: () => logUpdate.clear(),
    };
  }
  let lastSecond = -1;
  return {
    line: (text: string) => console.log(text),
    progress: (p: Progress) => {
      const second = Math.floor(p.elapsedS);
      if (second === lastSecond || second % 2 !== 0) return;
      lastSecond = second;
      console.log(progressLine(p));
    },
    done: () => {
      lastSecond = -1;
    },
  };
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export function run(argv: readonly string[]): Promise<number> {
  return runParsed(
    parseSimulateArgs(argv, process.env),
    { name: 'simulate', usage: simulateUsage },
    ({ scenario }) => simulateCommand(scenario),
  );
}

async function simulateCommand(scenario: Scenario): Promise<number> {
  // A terminal of unknown width (0 columns) would get an empty line from log-update.
  const out = await progressOutput(process.stdout.isTTY === true && process.stdout.columns > 0);
  let result: Awaited<ReturnType<typeof simulate>>;
  try {
    result = await simulate(scenario, 'simulate', out);
  } catch (error) {
    if (error instanceof MissingPackageError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const { report, outputs } = result;
  if (outputs.length === 0) {
    console.error('No strategy could run.');
    return 1;
  }
  console.log(`\n${await summaryTable(report.strategies)}`);
  console.log(
    'goodput: the admitted rate over the limit of the binding dimension, over the last whole periods; billed requests: every HTTP attempt the provider received.',
  );
  if (scenario.svg !== undefined) {
    try {
      writeFile(scenario.svg, await chartSvg(scenario, outputs));
      console.log(`Chart: ${scenario.svg}`);
    } catch (error) {
      if (!(error instanceof MissingPackageError)) throw error;
      console.log(`No chart: ${error.message}`);
    }
  }
  if (scenario.json !== undefined) {
    writeFile(scenario.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`Figures: ${scenario.json}`);
  }
  return 0;
}
