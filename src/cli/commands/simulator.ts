/**
 * `llm-resilience simulator`: runs the provider simulator until Ctrl-C, then prints its stats.
 * Argument parsing is a pure exported function; the simulator module is loaded only to run.
 */
import { FAULT_KINDS } from '../../simulator/faults.js';
import type { FaultKind, SimulatorOptions } from '../../simulator/index.js';
import { type NotARun, parseCommandOptions, runParsed, TEXT } from '../command-args.js';

export const simulatorUsage = `Usage: llm-resilience simulator [options]

Starts an HTTP server that speaks the Anthropic or OpenAI API with their rate limits and faults.

Options:
  --provider <name>          anthropic | openai (default anthropic)
  --port <n>                 TCP port, 0 for a free one (default 0)
  --host <addr>              interface to bind (default 127.0.0.1)
  --rpm <n>                  requests per minute
  --itpm <n>                 Anthropic input tokens per minute
  --otpm <n>                 Anthropic output tokens per minute
  --tpm <n>                  OpenAI tokens per minute
  --concurrent <n>           requests in flight at once
  --per-second               enforce every per-minute limit as a per-second bucket
  --latency-ms <ms>          time to first token (default 0)
  --per-token-ms <ms>        time per output token (default 0)
  --jitter <0..1>            relative spread of both times (default 0)
  --output-tokens <n|a-b>    output length, fixed or a range (default 1..max_tokens)
  --fault-rate <p>           probability of an overloaded fault per request
  --fault <kind=p>           probability of one fault kind; repeatable. Kinds:
                             ${FAULT_KINDS.join(', ')}
  --slow-first-byte-ms <ms>  delay of a slow_first_byte fault (default 10000)
  --max-body-bytes <n>       larger bodies get 413 (default 33554432)
  --api-key <key>            require this key (default: any non-empty key)
  --seed <n>                 seed of every random draw (default 1)
  -h, --help                 show this help`;

export type ParsedSimulatorArgs =
  | NotARun
  | { readonly kind: 'run'; readonly options: SimulatorOptions };

/** Turns command-line arguments into simulator options; never throws, never starts anything. */
export function parseSimulatorArgs(argv: readonly string[]): ParsedSimulatorArgs {
  const parsed = parseCommandOptions(argv, {
    provider: TEXT,
    port: TEXT,
    host: TEXT,
    rpm: TEXT,
    itpm: TEXT,
    otpm: TEXT,
    tpm: TEXT,
    concurrent: TEXT,
    'per-second': { type: 'boolean' },
    'latency-ms': TEXT,
    'per-token-ms': TEXT,
    jitter: TEXT,
    'output-tokens': TEXT,
    'fault-rate': TEXT,
    fault: { type: 'string', multiple: true },
    'slow-first-byte-ms': TEXT,
    'max-body-bytes': TEXT,
    'api-key': TEXT,
    seed: TEXT,
  });
  if (parsed.kind !== 'values') return parsed;
  const { values } = parsed;
  const provider = values.provider ?? 'anthropic';
  if (provider !== 'anthropic' && provider !== 'openai')
    return { kind: 'error', message: `--provider must be anthropic or openai, got "${provider}"` };

  const numbers: Record<string, number> = {};
  for (const name of [
    'port',
    'rpm',
    'itpm',
    'otpm',
    'tpm',
    'concurrent',
    'latency-ms',
    'per-token-ms',
    'jitter',
    'fault-rate',
    'slow-first-byte-ms',
    'max-body-bytes',
    'seed',
  ] as const) {
    const text = values[name];
    if (text === undefined) continue;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value))
      return { kind: 'error', message: `--${name} must be a number, got "${text}"` };
    numbers[name] = value;
  }

  const rates: Partial<Record<FaultKind, number>> = {};
  if (numbers['fault-rate'] !== undefined) rates.overloaded = numbers['fault-rate'];
  for (const spec of values.fault ?? []) {
    const match = /^([a-z_]+)=([0-9.]+)$/.exec(spec);
    const kind = match?.[1] as FaultKind | undefined;
    if (!match || !kind || !FAULT_KINDS.includes(kind) || !Number.isFinite(Number(match[2])))
      return { kind: 'error', message: `--fault expects <kind>=<probability>, got "${spec}"` };
    rates[kind] = Number(match[2]);
  }

  let outputTokens: SimulatorOptions['outputTokens'];
  if (values['output-tokens'] !== undefined) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(values['output-tokens']);
    if (!match)
      return {
        kind: 'error',
        message: `--output-tokens expects n or a-b, got "${values['output-tokens']}"`,
      };
    outputTokens = match[2] ? { min: Number(match[1]), max: Number(match[2]) } : Number(match[1]);
  }

  const limits = {
    ...(numbers.rpm !== undefined && { rpm: numbers.rpm }),
    ...(numbers.itpm !== undefined && { itpm: numbers.itpm }),
    ...(numbers.otpm !== undefined && { otpm: numbers.otpm }),
    ...(numbers.tpm !== undefined && { tpm: numbers.tpm }),
    ...(numbers.concurrent !== undefined && { concurrent: numbers.concurrent }),
  };
  const options: SimulatorOptions = {
    provider,
    limits,
    port: numbers.port ?? 0,
    ...(values.host !== undefined && { host: values.host }),
    ...(values['per-second'] && { perSecond: true }),
    latencyMs: {
      firstTokenMs: numbers['latency-ms'] ?? 0,
      perTokenMs: numbers['per-token-ms'] ?? 0,
      jitter: numbers.jitter ?? 0,
    },
    faults: {
      rates,
      ...(numbers['slow-first-byte-ms'] !== undefined && {
        slowFirstByteMs: numbers['slow-first-byte-ms'],
      }),
    },
    ...(outputTokens !== undefined && { outputTokens }),
    ...(numbers['max-body-bytes'] !== undefined && { maxBodyBytes: numbers['max-body-bytes'] }),
    ...(values['api-key'] !== undefined && { apiKey: values['api-key'] }),
    ...(numbers.seed !== undefined && { seed: numbers.seed }),
  };
  return { kind: 'run', options };
}

export function run(argv: readonly string[]): Promise<number> {
  return runParsed(parseSimulatorArgs(argv), { name: 'simulator', usage: simulatorUsage }, serve);
}

async function serve(parsed: { readonly options: SimulatorOptions }): Promise<number> {
  const { startSimulator } = await import('../../simulator/index.js');
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator(parsed.options);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const baseURL = sim.provider === 'openai' ? `${sim.url}/v1` : sim.url;
  console.log(`Simulating ${sim.provider} at ${sim.url}`);
  console.log(
    `Point your client at baseURL ${baseURL} with maxRetries: 0. Ctrl-C prints the stats.`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const stats = sim.stats();
  await sim.close();
  const { series, ...summary } = stats;
  console.log(JSON.stringify({ ...summary, seriesPoints: series.points.length }, null, 2));
  return 0;
}
