/**
 * Measures demand before sizing limits (seed 002, step 1): every call a pipeline settles with
 * the provider's usage is added to its window; `report()` rolls the windows up into per-minute
 * p50/p95 RPM, ITPM, OTPM, TPM and cache share, as JSON for `llm-resilience plan --demand FILE`.
 */
import type { IDisposable } from 'cockatiel';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import type { SettleEvent } from '../pipeline/budgeted-fetch.js';
import { type DemandReport, type DemandWindow, demandReport } from './demand-report.js';

export interface DemandRecorderOptions {
  /** Width of a window, in ms. @default 60_000 (a minute; tests compress time) */
  windowMs?: number;
  /**
   * Windows kept; older ones are dropped. @default 2_880 (48 hours of minutes, the longest
   * measuring run seed 002 suggests)
   */
  maxWindows?: number;
  /** The provider, written into the report. @default the first pipeline's that is recorded */
  provider?: string;
  /** Time source. @default systemClock */
  clock?: Clock;
}

/** One call's usage, for `record()`. */
export interface DemandSample {
  /** Every prompt token: uncached input, cache writes and cache reads. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Prompt tokens read from the cache (a part of `inputTokens`). @default 0 */
  readonly cachedInputTokens?: number;
}

/** Something with a pipeline's settle event (a `ProviderPolicy`). */
export interface SettleSource {
  readonly onSettle: (listener: (event: SettleEvent) => void) => IDisposable;
}

export const DEMAND_DEFAULTS = { windowMs: 60_000, maxWindows: 2_880 } as const;

const OPTION_KEYS = optionKeys<DemandRecorderOptions>({
  windowMs: true,
  maxWindows: true,
  provider: true,
  clock: true,
});

interface MutableWindow {
  start: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

export class DemandRecorder {
  private readonly windowMs: number;
  private readonly maxWindows: number;
  private readonly clock: Clock;
  private provider: string | undefined;
  /** Windows by start, oldest first (insertion order). */
  private readonly windows = new Map<number, MutableWindow>();
  /** Start of the first window reported: the recorder's creation. */
  private readonly firstStart: number;

  constructor(options: DemandRecorderOptions = {}) {
    const where = 'demandRecorder()';
    checkKnownKeys(options, OPTION_KEYS, where);
    this.windowMs = options.windowMs ?? DEMAND_DEFAULTS.windowMs;
    if (!Number.isInteger(this.windowMs) || this.windowMs < 1) {
      throw new InvalidConfigError('windowMs', 'a positive integer (ms)', options.windowMs);
    }
    this.maxWindows = options.maxWindows ?? DEMAND_DEFAULTS.maxWindows;
    if (!Number.isInteger(this.maxWindows) || this.maxWindows < 1) {
      throw new InvalidConfigError('maxWindows', 'a positive integer', options.maxWindows);
    }
    if (options.provider !== undefined && typeof options.provider !== 'string') {
      throw new InvalidConfigError('provider', 'a string', options.provider);
    }
    this.provider = options.provider;
    this.clock = options.clock ?? systemClock;
    this.firstStart = this.windowStart(this.clock.now());
  }

  /**
   * Records every call `policy` settles with the provider's usage (refused and failed attempts
   * are not demand the provider served, and their retries would count twice). Returns the
   * subscription; dispose it to stop.
   */
  attach(policy: SettleSource): IDisposable {
    return policy.onSettle((e) => {
      if (!e.usage) return;
      this.provider ??= e.provider;
      this.record({
        inputTokens: e.usage.totalInputTokens,
        outputTokens: e.usage.outputTokens,
        cachedInputTokens: e.usage.cacheReadInputTokens,
      });
    });
  }

  /** Adds one call, now. */
  record(sample: DemandSample): void {
    const where = 'record()';
    if (typeof sample !== 'object' || sample === null) {
      throw new InvalidArgumentError(
        'sample',
        'an object with inputTokens and outputTokens',
        sample,
        where,
      );
    }
    const input = tokens(sample.inputTokens, 'inputTokens', where);
    const output = tokens(sample.outputTokens, 'outputTokens', where);
    const cached = tokens(sample.cachedInputTokens ?? 0, 'cachedInputTokens', where);
    if (cached > input) {
      throw new InvalidArgumentError('cachedInputTokens', 'at most inputTokens', cached, where);
    }
    const start = this.windowStart(this.clock.now());
    let w = this.windows.get(start);
    if (!w) {
      w = { start, requests: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
      this.windows.set(start, w);
      this.prune(start);
    }
    w.requests += 1;
    w.inputTokens += input;
    w.outputTokens += output;
    w.cachedInputTokens += cached;
  }

  /**
   * The report: every window from the recorder's start (or the oldest kept) to the current one,
   * empty ones included; the percentiles are over the complete windows (the current one is still
   * filling), or over all when none is complete yet.
   */
  report(): DemandReport {
    const current = this.windowStart(this.clock.now());
    const oldestKept = Math.max(this.firstStart, current - (this.maxWindows - 1) * this.windowMs);
    const list: DemandWindow[] = [];
    for (let start = oldestKept; start <= current; start += this.windowMs) {
      const w = this.windows.get(start);
      list.push(
        w
          ? { ...w }
          : { start, requests: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 },
      );
    }
    return demandReport(list, this.windowMs, list.length - 1, this.provider);
  }

  /** The report, for `JSON.stringify`. */
  toJSON(): DemandReport {
    return this.report();
  }

  private windowStart(t: number): number {
    return Math.floor(t / this.windowMs) * this.windowMs;
  }

  private prune(current: number): void {
    const oldest = current - (this.maxWindows - 1) * this.windowMs;
    for (const start of this.windows.keys()) if (start < oldest) this.windows.delete(start);
  }
}

/** A recorder of calls' demand; `attach(policy)` records a pipeline's calls. */
export function demandRecorder(options?: DemandRecorderOptions): DemandRecorder {
  return new DemandRecorder(options);
}

function tokens(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, 'an integer >= 0', value, where);
  }
  return value;
}
