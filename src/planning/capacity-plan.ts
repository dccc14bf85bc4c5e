/**
 * Capacity planning, pure: given a provider's limits, how it counts a call, and a traffic shape,
 * which limit binds, the headroom on each, the most calls per minute that fit, and how many calls
 * are in flight at that rate (Little's law). No clock, no I/O; `llm-resilience plan` prints it.
 *
 * Per dimension, a call is charged twice, as the providers do and as the pipelines mirror them:
 * - `atStart`: what the provider takes when the call starts (`max_tokens` where it counts output
 *   that way), which must be in the bucket for the call to start;
 * - `perCall`: what it counts once the call is settled (the unused reservation credited back).
 * Two conditions follow for `n` calls per minute:
 * - rate: n × perCall per minute (× 1440 for per-day limits) within the limit;
 * - in flight: the calls running at once, n × latency (Little's law), each hold back
 *   `atStart - perCall` until they end; with one more starting, that must fit in the bucket:
 *   n × latency/60 000 × (atStart - perCall) + atStart <= limit.
 * The second matters only where output is charged as `max_tokens` and calls are long.
 */
import { InvalidConfigError } from '../errors/invalid-config-error.js';

/** The limits a plan knows, named as the providers and the presets name them. */
export type PlanDimension = 'rpm' | 'itpm' | 'otpm' | 'tpm' | 'rpd' | 'tpd';

/** Order of dimensions in every result (and the tie-break between equal bounds). */
export const PLAN_DIMENSIONS: readonly PlanDimension[] = [
  'rpm',
  'itpm',
  'otpm',
  'tpm',
  'rpd',
  'tpd',
];

/** Limits per minute (`rpd`, `tpd`: per day). Absent = not limited. */
export type PlanLimits = Partial<Record<PlanDimension, number>>;

/** The traffic to fit: an average call and how many are wanted per minute. */
export interface TrafficShape {
  /** Calls wanted per minute. */
  readonly callsPerMinute: number;
  /** Input tokens per call: the whole prompt, cache reads and writes included. */
  readonly inputTokens: number;
  /** Output tokens generated per call (average). */
  readonly outputTokens: number;
  /** `max_tokens` per call. @default outputTokens (no reservation beyond what is generated) */
  readonly maxTokens?: number;
  /** Share of the input tokens read from the prompt cache, in [0, 1]. @default 0 */
  readonly cacheReadShare?: number;
}

/** How the provider counts a call against its token limits. */
export interface CallCounting {
  /**
   * `max_tokens`: charged when the call starts, the unused part credited when it ends (OpenAI
   * TPM, Anthropic OTPM before 2026); `generated`: only tokens generated (Anthropic since 2026);
   * `none`: output is not metered per minute (Gemini).
   */
  readonly outputTokens: 'max_tokens' | 'generated' | 'none';
  /** Input limits also count cache reads (OpenAI TPM; Anthropic's † classes). */
  readonly countsCacheReads: boolean;
}

export interface PlanInput {
  readonly limits: PlanLimits;
  readonly traffic: TrafficShape;
  readonly counting: CallCounting;
  /** Time a call takes, start to end, in ms (Little's law). */
  readonly latencyMs: number;
  /** Share of every limit this traffic may use, in (0, 1]. @default 1 */
  readonly utilization?: number;
}

/** Why a dimension stops at its `maxCallsPerMinute`. */
export type LimitedBy = 'rate' | 'in-flight' | 'one-call' | 'none';

export interface DimensionPlan {
  readonly name: PlanDimension;
  readonly period: 'minute' | 'day';
  /** The limit as given. */
  readonly limit: number;
  /** `limit × utilization`: what the traffic may use. */
  readonly budget: number;
  /** Counted per call once settled. */
  readonly perCall: number;
  /** Charged per call when it starts (above `perCall` only for `max_tokens`). */
  readonly atStart: number;
  /** Counted per period at the wanted traffic. */
  readonly demand: number;
  /** `budget - demand`: negative when the wanted traffic does not fit. */
  readonly headroom: number;
  /** `demand / budget`. */
  readonly used: number;
  /** Most calls per minute this dimension lets through; `null` when it does not limit them (over `UNLIMITED_CALLS_PER_MINUTE`). */
  readonly maxCallsPerMinute: number | null;
  readonly limitedBy: LimitedBy;
}

export interface CapacityPlan {
  /** The dimension that lets the fewest calls through. */
  readonly binding: PlanDimension;
  /** Most calls per minute that fit every limit (whole calls). */
  readonly maxCallsPerMinute: number;
  /** Whether the wanted calls per minute fit. */
  readonly fits: boolean;
  readonly callsPerMinute: number;
  readonly latencyMs: number;
  readonly utilization: number;
  /** Calls in flight on average (Little's law): at the wanted rate, and at the most that fit. */
  readonly inFlight: { readonly atDemand: number; readonly atMax: number };
  readonly dimensions: readonly DimensionPlan[];
}

const MINUTES_PER_DAY = 1440;

/**
 * Above this many calls a minute a dimension counts as not limiting (`null`): whole-number steps
 * stay exact far beyond it, and no provider serves a trillion calls a minute.
 */
export const UNLIMITED_CALLS_PER_MINUTE = 1e12;

/** What one call costs on one dimension: counted once settled, and charged at its start. */
export function costsPerCall(
  name: PlanDimension,
  traffic: TrafficShape,
  counting: CallCounting,
): { perCall: number; atStart: number } {
  const cache = traffic.cacheReadShare ?? 0;
  const input = counting.countsCacheReads ? traffic.inputTokens : traffic.inputTokens * (1 - cache);
  const output = counting.outputTokens === 'none' ? 0 : traffic.outputTokens;
  const reserved =
    counting.outputTokens === 'max_tokens' ? (traffic.maxTokens ?? traffic.outputTokens) : output;
  switch (name) {
    case 'rpm':
    case 'rpd':
      return { perCall: 1, atStart: 1 };
    case 'itpm':
      return { perCall: input, atStart: input };
    case 'otpm':
      return { perCall: output, atStart: reserved };
    case 'tpm':
    case 'tpd':
      return { perCall: input + output, atStart: input + reserved };
  }
}

/**
 * Whether `n` calls per minute fit one dimension. The one definition of "fits": the plan's
 * figures are the largest `n` for which it holds.
 */
export function fitsDimension(
  n: number,
  d: Pick<DimensionPlan, 'period' | 'budget' | 'perCall' | 'atStart'>,
  latencyMs: number,
): boolean {
  if (n === 0) return true;
  if (d.atStart > d.budget) return false;
  const perPeriod = d.period === 'day' ? n * MINUTES_PER_DAY : n;
  if (perPeriod * d.perCall > d.budget) return false;
  const heldPerCall = d.atStart - d.perCall;
  if (d.period === 'minute' && heldPerCall > 0) {
    const inFlight = (n * latencyMs) / 60_000;
    if (inFlight * heldPerCall + d.atStart > d.budget) return false;
  }
  return true;
}

/** Which limit binds, the headroom on each, and the most calls per minute that fit. */
export function planCapacity(input: PlanInput): CapacityPlan {
  const utilization = input.utilization ?? 1;
  checkInput(input, utilization);
  const { traffic, counting, latencyMs } = input;
  const calls = traffic.callsPerMinute;

  const dimensions: DimensionPlan[] = [];
  for (const name of PLAN_DIMENSIONS) {
    const limit = input.limits[name];
    if (limit === undefined) continue;
    const period = name === 'rpd' || name === 'tpd' ? 'day' : 'minute';
    const budget = limit * utilization;
    const { perCall, atStart } = costsPerCall(name, traffic, counting);
    const shape = { period, budget, perCall, atStart } as const;
    const { max, limitedBy } = largestFitting(shape, latencyMs);
    const demand = (period === 'day' ? calls * MINUTES_PER_DAY : calls) * perCall;
    dimensions.push({
      name,
      period,
      limit,
      budget,
      perCall,
      atStart,
      demand,
      headroom: budget - demand,
      used: demand / budget,
      maxCallsPerMinute: max,
      limitedBy,
    });
  }

  let binding: DimensionPlan | undefined;
  for (const d of dimensions) {
    if (d.maxCallsPerMinute === null) continue;
    if (binding === undefined || d.maxCallsPerMinute < (binding.maxCallsPerMinute ?? 0)) {
      binding = d;
    } else if (d.maxCallsPerMinute === binding.maxCallsPerMinute && d.used > binding.used) {
      binding = d; // equal whole calls: the one the wanted traffic fills most
    }
  }
  if (binding === undefined) {
    throw new InvalidConfigError(
      'limits',
      'a limit this traffic is counted against (rpm, or a token limit with tokens per call)',
      Object.keys(input.limits).join(','),
    );
  }
  const max = binding.maxCallsPerMinute ?? 0;
  return {
    binding: binding.name,
    maxCallsPerMinute: max,
    fits: calls <= max,
    callsPerMinute: calls,
    latencyMs,
    utilization,
    inFlight: { atDemand: (calls * latencyMs) / 60_000, atMax: (max * latencyMs) / 60_000 },
    dimensions,
  };
}

/**
 * The largest whole `n` that fits, from the closed form and then checked against
 * `fitsDimension` itself, so float rounding can never make the two disagree.
 */
function largestFitting(
  d: Pick<DimensionPlan, 'period' | 'budget' | 'perCall' | 'atStart'>,
  latencyMs: number,
): { max: number | null; limitedBy: LimitedBy } {
  if (d.atStart > d.budget) return { max: 0, limitedBy: 'one-call' };
  const perPeriod = d.period === 'day' ? MINUTES_PER_DAY : 1;
  const byRate = d.perCall > 0 ? d.budget / (d.perCall * perPeriod) : Number.POSITIVE_INFINITY;
  const heldPerCall = d.atStart - d.perCall;
  const byInFlight =
    d.period === 'minute' && heldPerCall > 0 && latencyMs > 0
      ? ((d.budget - d.atStart) * 60_000) / (latencyMs * heldPerCall)
      : Number.POSITIVE_INFINITY;
  const bound = Math.min(byRate, byInFlight);
  if (!(bound <= UNLIMITED_CALLS_PER_MINUTE)) return { max: null, limitedBy: 'none' };
  let n = Math.max(0, Math.floor(bound));
  while (n > 0 && !fitsDimension(n, d, latencyMs)) n--;
  while (fitsDimension(n + 1, d, latencyMs)) n++;
  return { max: n, limitedBy: byInFlight < byRate ? 'in-flight' : 'rate' };
}

function checkInput(input: PlanInput, utilization: number): void {
  const { traffic, limits, latencyMs } = input;
  const nonNegative = (option: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new InvalidConfigError(option, 'a finite number >= 0', value);
    }
  };
  nonNegative('traffic.callsPerMinute', traffic.callsPerMinute);
  nonNegative('traffic.inputTokens', traffic.inputTokens);
  nonNegative('traffic.outputTokens', traffic.outputTokens);
  nonNegative('traffic.maxTokens', traffic.maxTokens);
  nonNegative('latencyMs', latencyMs);
  const cache = traffic.cacheReadShare;
  if (cache !== undefined && !(cache >= 0 && cache <= 1)) {
    throw new InvalidConfigError('traffic.cacheReadShare', 'a share in [0, 1]', cache);
  }
  if (traffic.maxTokens !== undefined && traffic.maxTokens < traffic.outputTokens) {
    throw new InvalidConfigError(
      'traffic.maxTokens',
      `at least outputTokens (${traffic.outputTokens}): a call generates at most max_tokens`,
      traffic.maxTokens,
    );
  }
  if (!(utilization > 0 && utilization <= 1)) {
    throw new InvalidConfigError('utilization', 'a share in (0, 1]', utilization);
  }
  for (const [name, value] of Object.entries(limits)) {
    if (!PLAN_DIMENSIONS.includes(name as PlanDimension)) {
      throw new InvalidConfigError(`limits.${name}`, `one of ${PLAN_DIMENSIONS.join(', ')}`, name);
    }
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new InvalidConfigError(`limits.${name}`, 'a finite number > 0', value);
    }
  }
}
