/**
 * Arguments of `llm-resilience plan`, parsed without doing anything: a pure function of argv
 * (and of a demand file's text, read by the caller), so it is tested without running the CLI.
 */
import { findPreset } from '../../../policies/find-preset.js';
import type { PresetProvider, TierPreset } from '../../../policies/types.js';
import { describeValue, isInvalidConfigError } from '../../errors/invalid-config-error.js';
import {
  type CallCounting,
  PLAN_DIMENSIONS,
  type PlanDimension,
  type PlanLimits,
  type TrafficShape,
} from '../../planning/capacity-plan.js';
import { type DemandTraffic, demandTraffic } from '../../planning/demand-file.js';
import { type NotARun, parseCommandOptions, TEXT } from '../command-args.js';

export const planUsage = `Usage: llm-resilience plan (--provider P --tier T --model M | --limits LIST)
                          (--traffic LIST | --demand FILE) [options]

Which limit binds, the headroom on each, the most calls per minute that fit, the calls in flight
and workers that carry them, and the pipeline options to use.

Limits (one of):
  --provider <name>        anthropic | openai | gemini
  --tier <name>            a tier of the provider (anthropic: start | build | scale, tier-1..tier-4;
                           openai: tier-1..tier-5, build | launch | grow; gemini: free, tier-1..tier-3)
  --model <name>           the model; its class picks the preset row
  --limits <list>          per minute: rpm=2000,itpm=160000,otpm=32000 (Anthropic) or
                           rpm=500,tpm=200000 (OpenAI); per day: rpd=, tpd=. With a preset, these
                           replace its numbers. Without --provider: tpm means openai, else anthropic.
Traffic (one of):
  --traffic <list>         calls=100,input=3000,output=500[,max_tokens=1024][,cache=0.3]: calls per
                           minute, then per call: input tokens (whole prompt), output tokens
                           generated, max_tokens, share of the input read from the prompt cache
  --demand <file>          a demand recorder's report (docs/observability.md): sized on its p95 minute
  --max-tokens <n>         with --demand: the calls' max_tokens (the report does not hold it)
Options:
  --output-tokens <rule>   generated | max_tokens: how the provider counts output (default: the
                           preset's rule; with --limits, generated for anthropic, max_tokens for openai)
  --latency-ms <ms>        time per call, start to end, for Little's law (default: 1000 + 20 per
                           output token)
  --utilization <share>    share of the limits this traffic may use, in (0, 1] (default 1)
  --workers <n>            workers to share the in-flight cap (default: enough at 20 in flight each)
  --json                   print one JSON object instead of text
  -h, --help               show this help`;

/** Where the latency came from, for the report. */
export type LatencySource = 'option' | 'default';

export interface PlanRequest {
  readonly provider: PresetProvider;
  readonly preset?: TierPreset;
  /** The model named (with a preset, or to pass on to the pipeline). */
  readonly model?: string;
  readonly tier?: string;
  /** The limits planned against (a preset's, with --limits over them). */
  readonly limits: PlanLimits;
  /** Only what --limits gave (a pipeline's `limits` option). */
  readonly explicitLimits: PlanLimits;
  readonly counting: CallCounting;
  /** Whether --output-tokens was given (it then goes into the pipeline's options). */
  readonly outputTokensGiven: boolean;
  readonly traffic: TrafficShape;
  readonly latencyMs: number;
  readonly latencySource: LatencySource;
  readonly utilization: number;
  readonly workers?: number;
  readonly demandFile?: string;
  readonly json: boolean;
}

export type ParsedPlanArgs = NotARun | { readonly kind: 'run'; readonly request: PlanRequest };

/** Reads a demand file's text; the caller's, so parsing stays free of I/O. */
export type ReadDemand = (path: string) => string;

/** Milliseconds before the first token, and per output token, of the default latency. */
export const DEFAULT_FIRST_TOKEN_MS = 1000;
export const DEFAULT_PER_OUTPUT_TOKEN_MS = 20;

class ArgumentError extends Error {}

const refuse = (argument: string, message: string): never => {
  throw new ArgumentError(`${argument}: ${message}`);
};

/** Turns `plan`'s arguments into a request; never throws, never prints. */
export function parsePlanArgs(argv: readonly string[], readDemand: ReadDemand): ParsedPlanArgs {
  try {
    return parse(argv, readDemand);
  } catch (error) {
    if (error instanceof ArgumentError) return { kind: 'error', message: error.message };
    throw error;
  }
}

function parse(argv: readonly string[], readDemand: ReadDemand): ParsedPlanArgs {
  const parsed = parseCommandOptions(argv, {
    provider: TEXT,
    tier: TEXT,
    model: TEXT,
    limits: TEXT,
    traffic: TEXT,
    demand: TEXT,
    'max-tokens': TEXT,
    'output-tokens': TEXT,
    'latency-ms': TEXT,
    utilization: TEXT,
    workers: TEXT,
    json: { type: 'boolean' },
  });
  if (parsed.kind !== 'values') return parsed;
  const { values } = parsed;

  const explicitLimits = values.limits === undefined ? {} : parseLimits(values.limits);
  const demand = trafficSource(values, readDemand);
  const { model } = values;

  let provider: PresetProvider;
  let preset: TierPreset | undefined;
  if (values.tier !== undefined) {
    provider = providerOption(values.provider ?? demand.provider, '--provider');
    preset = findRow(provider, values.tier, model);
  } else {
    if (values.limits === undefined) {
      refuse('--limits', 'give --limits, or --provider with --tier and --model');
    }
    const given = values.provider ?? demand.provider;
    provider =
      given === undefined
        ? explicitLimits.tpm !== undefined
          ? 'openai'
          : 'anthropic'
        : providerOption(given, '--provider');
  }
  checkLimitsFit(provider, explicitLimits);
  const limits: PlanLimits = { ...(preset?.limits ?? {}), ...explicitLimits };
  for (const name of Object.keys(limits) as string[]) {
    if (!PLAN_DIMENSIONS.includes(name as PlanDimension))
      delete (limits as Record<string, unknown>)[name];
  }

  const outputTokens = outputRule(values['output-tokens'], provider, preset);
  const counting: CallCounting = {
    outputTokens,
    // Anthropic: cache reads count toward ITPM only on the † rows. OpenAI's TPM counts cached
    // prompt tokens; Gemini's is not documented, so they count (the safe side).
    countsCacheReads: provider === 'anthropic' ? preset?.countsCacheReads === true : true,
  };

  const traffic = demand.traffic;
  let latencyMs: number;
  let latencySource: LatencySource;
  if (values['latency-ms'] !== undefined) {
    latencyMs = number('--latency-ms', values['latency-ms'], { min: 0 });
    latencySource = 'option';
  } else {
    latencyMs = DEFAULT_FIRST_TOKEN_MS + DEFAULT_PER_OUTPUT_TOKEN_MS * traffic.outputTokens;
    latencySource = 'default';
  }
  const utilization =
    values.utilization === undefined ? 1 : number('--utilization', values.utilization, { min: 0 });
  if (!(utilization > 0 && utilization <= 1)) {
    refuse('--utilization', `expected a share in (0, 1], got ${values.utilization}`);
  }
  const workers =
    values.workers === undefined ? undefined : integer('--workers', values.workers, { min: 1 });

  return {
    kind: 'run',
    request: {
      provider,
      ...(preset !== undefined && { preset, tier: values.tier }),
      ...(model !== undefined && { model }),
      limits,
      explicitLimits,
      counting,
      outputTokensGiven: values['output-tokens'] !== undefined,
      traffic,
      latencyMs,
      latencySource,
      utilization,
      ...(workers !== undefined && { workers }),
      ...(values.demand !== undefined && { demandFile: values.demand }),
      json: values.json === true,
    },
  };
}

function trafficSource(
  values: { traffic?: string; demand?: string; 'max-tokens'?: string },
  readDemand: ReadDemand,
): DemandTraffic {
  if (values.traffic !== undefined && values.demand !== undefined) {
    refuse('--demand', 'give --traffic or --demand, not both');
  }
  if (values.traffic !== undefined) {
    if (values['max-tokens'] !== undefined) {
      refuse('--max-tokens', 'goes with --demand; with --traffic, add max_tokens= to the list');
    }
    return { traffic: parseTraffic(values.traffic) };
  }
  if (values.demand === undefined) {
    return refuse('--traffic', 'give --traffic calls=..,input=..,output=.. or --demand FILE');
  }
  const maxTokens =
    values['max-tokens'] === undefined
      ? undefined
      : number('--max-tokens', values['max-tokens'], { min: 0 });
  let text: string;
  try {
    text = readDemand(values.demand);
  } catch (error) {
    return refuse('--demand', `cannot read ${values.demand}: ${(error as Error).message}`);
  }
  try {
    return demandTraffic(text, maxTokens);
  } catch (error) {
    if (isInvalidConfigError(error)) {
      const argument = error.option === 'maxTokens' ? '--max-tokens' : '--demand';
      const field = error.option === 'maxTokens' ? '' : ` field "${error.option}":`;
      return refuse(
        argument,
        `${values.demand}:${field} expected ${error.expected}, got ${describeValue(error.received)}`,
      );
    }
    throw error;
  }
}

/** `calls=100,input=3000,output=500[,max_tokens=1024][,cache=0.3]` */
export function parseTraffic(list: string): TrafficShape {
  const pairs = keyValues('--traffic', list, ['calls', 'input', 'output', 'max_tokens', 'cache']);
  for (const required of ['calls', 'input', 'output']) {
    if (pairs[required] === undefined) {
      refuse('--traffic', `missing ${required}= (calls per minute; input, output tokens per call)`);
    }
  }
  const calls = number('--traffic calls', pairs.calls!, { min: 0 });
  if (!(calls > 0)) refuse('--traffic', `calls must be above 0, got ${pairs.calls}`);
  const output = number('--traffic output', pairs.output!, { min: 0 });
  const maxTokens =
    pairs.max_tokens === undefined
      ? undefined
      : number('--traffic max_tokens', pairs.max_tokens, { min: 0 });
  if (maxTokens !== undefined && maxTokens < output) {
    refuse(
      '--traffic',
      `max_tokens (${maxTokens}) is below output (${output}): a call writes at most max_tokens`,
    );
  }
  const cache =
    pairs.cache === undefined ? undefined : number('--traffic cache', pairs.cache, { min: 0 });
  if (cache !== undefined && cache > 1) {
    refuse(
      '--traffic',
      `cache is the share of input read from the cache, in [0, 1]; got ${pairs.cache}`,
    );
  }
  return {
    callsPerMinute: calls,
    inputTokens: number('--traffic input', pairs.input!, { min: 0 }),
    outputTokens: output,
    ...(maxTokens !== undefined && { maxTokens }),
    ...(cache !== undefined && { cacheReadShare: cache }),
  };
}

/** `rpm=2000,itpm=160000,otpm=32000` */
export function parseLimits(list: string): PlanLimits {
  const pairs = keyValues('--limits', list, PLAN_DIMENSIONS);
  const limits: Partial<Record<PlanDimension, number>> = {};
  for (const [name, value] of Object.entries(pairs)) {
    const n = number(`--limits ${name}`, value, { min: 0 });
    if (!(n > 0)) refuse('--limits', `${name} must be above 0, got ${value}`);
    limits[name as PlanDimension] = n;
  }
  return limits;
}

function checkLimitsFit(provider: PresetProvider, limits: PlanLimits): void {
  if (provider === 'openai' && (limits.itpm !== undefined || limits.otpm !== undefined)) {
    refuse('--limits', 'openai meters rpm and tpm (input + output), not itpm/otpm');
  }
  if (provider !== 'openai' && limits.tpm !== undefined) {
    refuse(
      '--limits',
      `${provider} meters itpm${provider === 'anthropic' ? ' and otpm' : ''}, not tpm (OpenAI)`,
    );
  }
}

function keyValues(
  argument: string,
  list: string,
  known: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of list.split(',')) {
    const match = /^\s*([a-z_]+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!match) refuse(argument, `expected name=value pairs separated by commas, got "${part}"`);
    const name = match?.[1] ?? '';
    const value = match?.[2] ?? '';
    if (!known.includes(name)) {
      refuse(argument, `unknown name "${name}" (known: ${known.join(', ')})`);
    }
    if (out[name] !== undefined) refuse(argument, `${name} is given twice`);
    out[name] = value;
  }
  return out;
}

function number(argument: string, text: string, { min }: { min: number }): number {
  const value = Number(text.replaceAll('_', ''));
  if (text.trim() === '' || !Number.isFinite(value) || value < min) {
    refuse(argument, `expected a number >= ${min}, got "${text}"`);
  }
  return value;
}

function integer(argument: string, text: string, { min }: { min: number }): number {
  const value = number(argument, text, { min });
  if (!Number.isSafeInteger(value)) refuse(argument, `expected a whole number, got "${text}"`);
  return value;
}

function providerOption(value: string | undefined, argument: string): PresetProvider {
  if (value === undefined)
    return refuse(argument, 'anthropic, openai or gemini is needed with --tier');
  if (value !== 'anthropic' && value !== 'openai' && value !== 'gemini') {
    refuse(argument, `expected anthropic, openai or gemini, got "${value}"`);
  }
  return value as PresetProvider;
}

function outputRule(
  given: string | undefined,
  provider: PresetProvider,
  preset: TierPreset | undefined,
): CallCounting['outputTokens'] {
  if (given !== undefined) {
    if (given !== 'generated' && given !== 'max_tokens') {
      refuse('--output-tokens', `expected generated or max_tokens, got "${given}"`);
    }
    return given as CallCounting['outputTokens'];
  }
  if (preset !== undefined) return preset.outputTokens;
  if (provider === 'openai') return 'max_tokens';
  if (provider === 'gemini') return 'none';
  return 'generated';
}

/** The preset row, with `findPreset`'s refusal turned into one naming the argument. */
function findRow(provider: PresetProvider, tier: string, model: string | undefined): TierPreset {
  if (model === undefined) {
    return refuse('--model', 'a model name is needed with --tier (its class picks the row)');
  }
  try {
    return findPreset({ provider, tier, model });
  } catch (error) {
    if (isInvalidConfigError(error)) {
      const expected = error.expected.replaceAll('`limits`', '--limits');
      return refuse(
        error.option === 'modelClass' ? '--model' : `--${error.option}`,
        `expected ${expected}; got ${describeValue(error.received)}`,
      );
    }
    throw error;
  }
}
