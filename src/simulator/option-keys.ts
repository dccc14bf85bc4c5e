import { InvalidConfigError } from '../errors/invalid-config-error.js';
/** The simulator's option keys, nested ones included, refused when unknown (see check-options.ts). */
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import { FAULT_KINDS, type FaultOptions, type ScriptStep } from './faults.js';
import type {
  BackgroundTraffic,
  LatencyModel,
  PromptCacheOptions,
  SimulatorLimits,
  SimulatorOptions,
} from './options.js';

const WHERE = 'startSimulator()';

const OPTION_KEYS = optionKeys<SimulatorOptions>({
  provider: true,
  limits: true,
  perSecond: true,
  latencyMs: true,
  faults: true,
  outputTokens: true,
  defaultMaxTokens: true,
  promptCache: true,
  maxBodyBytes: true,
  apiKey: true,
  port: true,
  host: true,
  seed: true,
  clock: true,
  modelClasses: true,
  outputCounting: true,
  background: true,
  headerless429: true,
  exactRemaining: true,
});
const LIMIT_KEYS = optionKeys<SimulatorLimits>({
  rpm: true,
  itpm: true,
  otpm: true,
  tpm: true,
  concurrent: true,
  rpd: true,
  tpd: true,
});
const BACKGROUND_KEYS = optionKeys<BackgroundTraffic>({ share: true, perMinute: true });
const LATENCY_KEYS = optionKeys<LatencyModel>({
  firstTokenMs: true,
  perTokenMs: true,
  jitter: true,
});
const FAULT_KEYS = optionKeys<FaultOptions>({ rates: true, script: true, slowFirstByteMs: true });
const PROMPT_CACHE_KEYS = optionKeys<PromptCacheOptions>({ minTokens: true, ttlMs: true });
const OUTPUT_TOKEN_KEYS = optionKeys<{ min: number; max: number }>({ min: true, max: true });
/** The keys each kind of script step takes. */
const STEP_KEYS: Readonly<Record<string, readonly string[]>> = {
  rate_limit: ['kind', 'retryAfterSeconds'],
  slow_first_byte: ['kind', 'delayMs'],
  slow_first_event: ['kind', 'delayMs'],
};

/** Refuses any key of `options`, at any depth, that the simulator does not know. */
export function checkSimulatorKeys(options: SimulatorOptions): void {
  checkKnownKeys(options, OPTION_KEYS, WHERE, { required: true, aliases: { limit: 'limits' } });
  checkKnownKeys(options.limits, LIMIT_KEYS, WHERE, { path: 'limits' });
  for (const [name, limits] of Object.entries(options.modelClasses ?? {}))
    checkKnownKeys(limits, LIMIT_KEYS, WHERE, { path: `modelClasses.${name}` });
  checkKnownKeys(options.background, BACKGROUND_KEYS, WHERE, { path: 'background' });
  checkKnownKeys(options.background?.perMinute, LIMIT_KEYS, WHERE, {
    path: 'background.perMinute',
  });
  if (typeof options.latencyMs === 'object') {
    checkKnownKeys(options.latencyMs, LATENCY_KEYS, WHERE, { path: 'latencyMs' });
  }
  const faults = options.faults;
  checkKnownKeys(faults, FAULT_KEYS, WHERE, { path: 'faults' });
  checkKnownKeys(faults?.rates, FAULT_KINDS, WHERE, { path: 'faults.rates' });
  if (faults?.script !== undefined && !Array.isArray(faults.script)) {
    throw new InvalidConfigError('faults.script', 'an array of script steps', faults.script);
  }
  faults?.script?.forEach((step: ScriptStep, i) => {
    const known = STEP_KEYS[step?.kind] ?? ['kind'];
    checkKnownKeys(step, known, WHERE, { path: `faults.script[${i}]`, required: true });
  });
  checkKnownKeys(options.promptCache, PROMPT_CACHE_KEYS, WHERE, { path: 'promptCache' });
  if (typeof options.outputTokens === 'object') {
    checkKnownKeys(options.outputTokens, OUTPUT_TOKEN_KEYS, WHERE, { path: 'outputTokens' });
  }
}
