/**
 * `simulate`'s command line, parsed into a plain scenario. Pure: no I/O, never throws (a bad
 * argument is an `error` result the command prints before exiting with 2).
 */
import { findPreset } from '../../../policies/find-preset.js';
import { type NotARun, parseCommandOptions, TEXT } from '../command-args.js';

export const STRATEGY_NAMES = [
  'llm-resilience',
  'naive',
  'per-process',
  'rate-limiter-flexible',
  'bottleneck',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export type Provider = 'anthropic' | 'openai';

/** Per-period limits, named as the provider meters them (anthropic: rpm itpm otpm; openai: rpm tpm). */
export type Quota = Readonly<Partial<Record<'rpm' | 'itpm' | 'otpm' | 'tpm', number>>>;

/** What every call looks like. */
export interface TrafficShape {
  /** Approximate prompt size in tokens. */
  readonly promptTokens: number;
  /** Output length drawn by the simulator, in tokens (capped at `maxTokens`). */
  readonly outputTokens: { readonly min: number; readonly max: number };
  readonly maxTokens: number;
  /** Share of calls that stream, in [0, 1]. */
  readonly streamShare: number;
}

export interface Scenario {
  readonly provider: Provider;
  readonly model: string;
  /** The provider's real quota per `periodMs` (what the simulator enforces). */
  readonly quota: Quota;
  /** Where the quota came from, for the report: `tier build (claude-sonnet-4-6)` or `--limits`. */
  readonly quotaSource: string;
  /** The limits the strategies are configured with: `quota` × `limitFactor`. */
  readonly limitFactor: number;
  /** Length of the quota's period in ms: 60 000 is real time, 1 000 compresses a minute into a second. */
  readonly periodMs: number;
  readonly workers: number;
  readonly inFlightPerWorker: number;
  readonly durationS: number;
  readonly traffic: TrafficShape;
  /**
   * Anthropic: how the provider counts output tokens against OTPM, the 2026 rule (`generated`,
   * as they are produced) or the 2025 one (`max_tokens` at the start, the unused part given back).
   * OpenAI's TPM always charges `max_tokens` at the start.
   */
  readonly outputCounting: 'generated' | 'max_tokens';
  /** Simulated time to first token and per output token, in ms. */
  readonly latency: { readonly firstTokenMs: number; readonly perTokenMs: number };
  readonly strategies: readonly StrategyName[];
  /** An explicit `--redis URL`; `undefined` falls back to `REDIS_URL`, if set. */
  readonly redis: string | undefined;
  readonly json: string | undefined;
  /** SVG chart path; `undefined` when `--no-svg`. */
  readonly svg: string | undefined;
  readonly seed: number;
}

export type ParsedSimulateArgs = NotARun | { readonly kind: 'run'; readonly scenario: Scenario };

export const DEFAULT_MODELS: Readonly<Record<Provider, string>> = {
  anthropic: 'claude-sonnet-4-6',
  openai: 'gpt-4.1',
};

/** Limits sized for a laptop with time compressed to 1 s periods: output tokens bind. */
export const DEFAULT_QUOTAS: Readonly<Record<Provider, Quota>> = {
  anthropic: { rpm: 60, itpm: 60_000, otpm: 6_000 },
  openai: { rpm: 60, tpm: 12_000 },
};

const DIMENSIONS: Readonly<Record<Provider, readonly string[]>> = {
  anthropic: ['rpm', 'itpm', 'otpm'],
  openai: ['rpm', 'tpm'],
};

export const simulateUsage = `Usage: llm-resilience simulate [options]

Starts the provider simulator and sends the same traffic through each strategy in turn, then
prints a table (requests, successes, provider 429s, billed requests, goodput, latency, fairness),
writes an SVG chart and, with --json, the figures.

Quota (the provider's real limits, enforced by the simulator):
  --provider <name>        anthropic | openai (default anthropic)
  --tier <name>            a preset tier (build, tier-2...), with --model; implies --period-ms 60000
  --model <name>           model of the calls and of the preset row (default claude-sonnet-4-6 |
                           gpt-4.1)
  --limits <k=v,...>       rpm=..,itpm=..,otpm=.. (anthropic) or rpm=..,tpm=.. (openai), per period
                           (default anthropic rpm=60,itpm=60000,otpm=6000; openai rpm=60,tpm=12000)
  --period-ms <ms>         1000 (a minute compressed into a second, the default with --limits) or
                           60000 (real time, the default with --tier)
  --limit-factor <f>       configure the strategies at f x the real quota (default 1; 2 shows a
                           misconfigured budget)
Load:
  --workers <n>            workers sharing the quota (default 4)
  --inflight <n>           calls in flight per worker (default 8)
  --duration <s>           seconds per strategy (default 8)
  --quick                  2 s per strategy: a smoke run (--duration wins)
  --prompt-tokens <n>      prompt size (default 300)
  --output-tokens <a-b>    output length the simulator draws (default 50-300)
  --max-tokens <n>         max_tokens of each call (default 512)
  --stream <share>         share of calls that stream, 0..1 (default 0.25)
  --output-counting <rule> anthropic: generated (the 2026 rule, default) or max_tokens (2025)
  --latency-ms <ms>        time to first token (default period/50)
  --per-token-ms <ms>      time per output token (default period/5000)
  --seed <n>               seed of the simulator's draws (default 1)
Strategies and output:
  --strategies <a,b,...>   ${STRATEGY_NAMES.join(', ')} (default: all)
  --redis <url>            share budgets through this Redis (default: REDIS_URL when set, else in memory)
  --json <file>            write the figures as JSON
  --svg <file>             the chart (default simulate.svg); needs the optional packages
                           @observablehq/plot and linkedom
  --no-svg                 no chart
  -h, --help               show this help`;

/** Turns command-line arguments into a scenario; never throws, never starts anything. */
export function parseSimulateArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedSimulateArgs {
  const parsed = parseCommandOptions(argv, {
    provider: TEXT,
    tier: TEXT,
    model: TEXT,
    limits: TEXT,
    'period-ms': TEXT,
    'limit-factor': TEXT,
    workers: TEXT,
    inflight: TEXT,
    duration: TEXT,
    'prompt-tokens': TEXT,
    'output-tokens': TEXT,
    'max-tokens': TEXT,
    stream: TEXT,
    'output-counting': TEXT,
    'latency-ms': TEXT,
    'per-token-ms': TEXT,
    seed: TEXT,
    strategies: TEXT,
    redis: TEXT,
    json: TEXT,
    svg: TEXT,
    'no-svg': { type: 'boolean' },
    quick: { type: 'boolean' },
  });
  if (parsed.kind !== 'values') return parsed;
  const { values } = parsed;
  const fail = (message: string): ParsedSimulateArgs => ({ kind: 'error', message });

  const provider = values.provider ?? 'anthropic';
  if (provider !== 'anthropic' && provider !== 'openai')
    return fail(`--provider must be anthropic or openai, got "${provider}"`);
  const model = values.model ?? DEFAULT_MODELS[provider];

  const num = (
    name: string,
    text: string | undefined,
    fallback: number,
    min: number,
    max = Infinity,
  ) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max)
      throw new ArgError(
        `--${name} must be a number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}, got "${text}"`,
      );
    return value;
  };
  const int = (name: string, text: string | undefined, fallback: number, min: number) => {
    const value = num(name, text, fallback, min);
    if (!Number.isSafeInteger(value))
      throw new ArgError(`--${name} must be an integer >= ${min}, got "${text}"`);
    return value;
  };

  try {
    if (values.tier !== undefined && values.limits !== undefined)
      return fail('--tier and --limits are exclusive: give one');
    let quota: Quota;
    let quotaSource: string;
    if (values.tier !== undefined) {
      const row = findPreset({ provider, tier: values.tier, model });
      const limits: Readonly<Record<string, number | undefined>> = { ...row.limits };
      quota = Object.fromEntries(DIMENSIONS[provider].map((d) => [d, limits[d]]));
      quotaSource = `tier ${values.tier} (${model})`;
    } else if (values.limits !== undefined) {
      quota = parseLimits(provider, values.limits);
      quotaSource = '--limits';
    } else {
      quota = DEFAULT_QUOTAS[provider];
      quotaSource = 'default limits';
    }
    const periodMs = int('period-ms', values['period-ms'], values.tier ? 60_000 : 1_000, 1);
    if (periodMs !== 1_000 && periodMs !== 60_000)
      return fail(
        `--period-ms must be 1000 (compressed) or 60000 (real time), got "${values['period-ms']}": the simulator meters per minute or per second`,
      );

    const strategies = (values.strategies ?? STRATEGY_NAMES.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const unknown = strategies.filter((s) => !(STRATEGY_NAMES as readonly string[]).includes(s));
    if (unknown.length > 0 || strategies.length === 0)
      return fail(
        `--strategies takes a comma-separated list of ${STRATEGY_NAMES.join(', ')}; unknown: "${unknown.join(',') || values.strategies}"`,
      );
    if (new Set(strategies).size !== strategies.length)
      return fail(`--strategies names a strategy twice: "${values.strategies}"`);

    const outputText = values['output-tokens'] ?? '50-300';
    const match = /^(\d+)(?:-(\d+))?$/.exec(outputText);
    if (!match) return fail(`--output-tokens expects n or a-b, got "${outputText}"`);
    const outMin = Number(match[1]);
    const outMax = match[2] === undefined ? outMin : Number(match[2]);
    if (outMin < 1 || outMax < outMin)
      return fail(`--output-tokens expects 1 <= a <= b, got "${outputText}"`);
    const maxTokens = int('max-tokens', values['max-tokens'], 512, 1);
    const outputCounting = values['output-counting'] ?? 'generated';
    if (outputCounting !== 'generated' && outputCounting !== 'max_tokens')
      return fail(`--output-counting must be generated or max_tokens, got "${outputCounting}"`);
    if (provider === 'openai' && values['output-counting'] !== undefined)
      return fail('--output-counting is for anthropic: OpenAI charges max_tokens at the start');

    if (values['no-svg'] && values.svg !== undefined)
      return fail('--svg and --no-svg are exclusive');
    const redis = values.redis ?? (env.REDIS_URL || undefined);
    if (redis !== undefined && !/^rediss?:\/\//.test(redis))
      return fail(`--redis expects a redis:// or rediss:// URL, got "${redis}"`);

    const scenario: Scenario = {
      provider,
      model,
      quota,
      quotaSource,
      limitFactor: num('limit-factor', values['limit-factor'], 1, 0.01, 100),
      periodMs,
      workers: int('workers', values.workers, 4, 1),
      inFlightPerWorker: int('inflight', values.inflight, 8, 1),
      durationS: num('duration', values.duration, values.quick ? 2 : 8, 0.5, 86_400),
      traffic: {
        promptTokens: int('prompt-tokens', values['prompt-tokens'], 300, 1),
        outputTokens: { min: outMin, max: outMax },
        maxTokens,
        streamShare: num('stream', values.stream, 0.25, 0, 1),
      },
      outputCounting: provider === 'openai' ? 'max_tokens' : outputCounting,
      latency: {
        firstTokenMs: num('latency-ms', values['latency-ms'], periodMs / 50, 0),
        perTokenMs: num('per-token-ms', values['per-token-ms'], periodMs / 5000, 0),
      },
      strategies: strategies as StrategyName[],
      redis,
      json: values.json,
      svg: values['no-svg'] ? undefined : (values.svg ?? 'simulate.svg'),
      seed: int('seed', values.seed, 1, 0),
    };
    return { kind: 'run', scenario };
  } catch (error) {
    if (error instanceof ArgError) return fail(error.message);
    // findPreset's InvalidConfigError names the tier or model and the nearest known one.
    return fail(error instanceof Error ? error.message : String(error));
  }
}

class ArgError extends Error {}

function parseLimits(provider: Provider, text: string): Quota {
  const quota: Record<string, number> = {};
  for (const part of text.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*([0-9_]+)\s*$/.exec(part);
    const value = match ? Number(match[2]!.replaceAll('_', '')) : Number.NaN;
    if (!match || !Number.isSafeInteger(value) || value < 1)
      throw new ArgError(`--limits expects name=positive integer pairs, got "${part}"`);
    if (!DIMENSIONS[provider].includes(match[1]!))
      throw new ArgError(
        `--limits: ${provider} meters ${DIMENSIONS[provider].join(', ')}; got "${match[1]}"`,
      );
    quota[match[1]!] = value;
  }
  return quota;
}
