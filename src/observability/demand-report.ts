/**
 * The demand report: calls rolled up per window (a minute by default) with their per-minute
 * percentiles, as JSON. `llm-resilience plan --demand FILE` reads it. Pure: no clock, no I/O.
 */
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';

/** One window's totals. */
export interface DemandWindow {
  /** Start of the window, ms since the epoch. */
  readonly start: number;
  /** Requests the provider answered with usage. */
  readonly requests: number;
  /** Every prompt token: uncached input, cache writes and cache reads. */
  readonly inputTokens: number;
  /** Output tokens. */
  readonly outputTokens: number;
  /** Prompt tokens read from the provider's cache (a part of `inputTokens`). */
  readonly cachedInputTokens: number;
}

/** Per-minute rates of one percentile. */
export interface DemandRates {
  /** Requests per minute. */
  readonly rpm: number;
  /** Prompt tokens per minute, cached ones included. */
  readonly inputTpm: number;
  /**
   * Prompt tokens per minute without cache reads: what Anthropic's ITPM counts on most models
   * (input + cache writes).
   */
  readonly itpm: number;
  /** Output tokens per minute. */
  readonly otpm: number;
  /** Prompt and output tokens per minute: what OpenAI's TPM counts. */
  readonly tpm: number;
  /** Share of the prompt tokens read from the cache, 0..1 (0 when there were none). */
  readonly cacheShare: number;
}

/** Version 1 of the demand report. */
export interface DemandReport {
  readonly version: 1;
  /** The provider the calls went to, when known. */
  readonly provider?: string;
  /** Width of each window, ms (60 000 unless time was compressed). */
  readonly windowMs: number;
  /** Every window from the first to the current one, empty ones included, oldest first. */
  readonly windows: readonly DemandWindow[];
  /**
   * How many of `windows` the percentiles were taken over: the complete ones (all but the
   * current), or all of them when none is complete yet.
   */
  readonly windowsMeasured: number;
  /** Medians of the windows' rates (nearest rank), scaled to a minute. */
  readonly p50: DemandRates;
  /** 95th percentiles of the windows' rates (nearest rank), scaled to a minute. */
  readonly p95: DemandRates;
  /** Cache share over everything measured: cached prompt tokens / prompt tokens. */
  readonly cacheShare: number;
}

/** The `p`-th percentile (0 < p <= 1) of `values` by nearest rank; 0 for none. */
export function nearestRank(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1] as number;
}

const share = (cached: number, input: number) => (input > 0 ? cached / input : 0);

/** A window's rates, scaled to a minute. */
export function windowRates(w: DemandWindow, windowMs: number): DemandRates {
  const k = 60_000 / windowMs;
  return {
    rpm: w.requests * k,
    inputTpm: w.inputTokens * k,
    itpm: (w.inputTokens - w.cachedInputTokens) * k,
    otpm: w.outputTokens * k,
    tpm: (w.inputTokens + w.outputTokens) * k,
    cacheShare: share(w.cachedInputTokens, w.inputTokens),
  };
}

/** Builds the report from windows (oldest first) and how many of them are complete. */
export function demandReport(
  windows: readonly DemandWindow[],
  windowMs: number,
  complete: number,
  provider?: string,
): DemandReport {
  const measured = complete > 0 ? windows.slice(0, complete) : windows;
  const rates = measured.map((w) => windowRates(w, windowMs));
  const percentile = (p: number): DemandRates => ({
    rpm: nearestRank(
      rates.map((r) => r.rpm),
      p,
    ),
    inputTpm: nearestRank(
      rates.map((r) => r.inputTpm),
      p,
    ),
    itpm: nearestRank(
      rates.map((r) => r.itpm),
      p,
    ),
    otpm: nearestRank(
      rates.map((r) => r.otpm),
      p,
    ),
    tpm: nearestRank(
      rates.map((r) => r.tpm),
      p,
    ),
    cacheShare: nearestRank(
      rates.map((r) => r.cacheShare),
      p,
    ),
  });
  let cached = 0;
  let input = 0;
  for (const w of measured) {
    cached += w.cachedInputTokens;
    input += w.inputTokens;
  }
  return {
    version: 1,
    ...(provider !== undefined ? { provider } : {}),
    windowMs,
    windows: windows.map((w) => ({ ...w })),
    windowsMeasured: measured.length,
    p50: percentile(0.5),
    p95: percentile(0.95),
    cacheShare: share(cached, input),
  };
}

const WINDOW_FIELDS = [
  'start',
  'requests',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
] as const;
const RATE_FIELDS = ['rpm', 'inputTpm', 'itpm', 'otpm', 'tpm', 'cacheShare'] as const;

/**
 * Reads a demand report from its JSON text (what `plan --demand FILE` does), checking every
 * field: a malformed file is refused with `InvalidArgumentError` naming the field.
 */
export function parseDemandReport(text: string): DemandReport {
  const where = 'parseDemandReport()';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('text', 'a demand report as JSON', text, where);
  }
  const bag = object(value, 'report', where);
  if (bag.version !== 1) throw new InvalidArgumentError('version', '1', bag.version, where);
  if (bag.provider !== undefined && typeof bag.provider !== 'string') {
    throw new InvalidArgumentError('provider', 'a string', bag.provider, where);
  }
  const windowMs = count(bag.windowMs, 'windowMs', where);
  if (windowMs === 0) throw new InvalidArgumentError('windowMs', 'a positive number', 0, where);
  if (!Array.isArray(bag.windows)) {
    throw new InvalidArgumentError('windows', 'an array', bag.windows, where);
  }
  const windows = bag.windows.map((w, i) => {
    const wb = object(w, `windows[${i}]`, where);
    const out: Record<string, number> = {};
    for (const f of WINDOW_FIELDS) out[f] = count(wb[f], `windows[${i}].${f}`, where);
    if ((out.cachedInputTokens as number) > (out.inputTokens as number)) {
      throw new InvalidArgumentError(
        `windows[${i}].cachedInputTokens`,
        'at most inputTokens',
        out.cachedInputTokens,
        where,
      );
    }
    return out as unknown as DemandWindow;
  });
  const rates = (name: 'p50' | 'p95'): DemandRates => {
    const rb = object(bag[name], name, where);
    const out: Record<string, number> = {};
    for (const f of RATE_FIELDS) out[f] = count(rb[f], `${name}.${f}`, where);
    return out as unknown as DemandRates;
  };
  const windowsMeasured = count(bag.windowsMeasured, 'windowsMeasured', where);
  return {
    version: 1,
    ...(typeof bag.provider === 'string' ? { provider: bag.provider } : {}),
    windowMs,
    windows,
    windowsMeasured,
    p50: rates('p50'),
    p95: rates('p95'),
    cacheShare: count(bag.cacheShare, 'cacheShare', where),
  };
}

function object(value: unknown, name: string, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(name, 'an object', value, where);
  }
  return value as Record<string, unknown>;
}

function count(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(name, 'a finite number >= 0', value, where);
  }
  return value;
}
