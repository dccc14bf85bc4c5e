import type { Event, IFailureEvent, IPolicy, IRetryContext, ISuccessEvent } from 'cockatiel';
import type { Clock } from '../clock.js';
import { sleep, systemClock } from '../clock.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { ceilMs, roundMs } from '../events/event-numbers.js';
import { SafeEventEmitter } from '../events/safe-event-emitter.js';
import { checkCallbacks, checkKnownKeys, optionKeys } from '../options/check-options.js';
import { classifyError, type ErrorKind } from '../providers/classify.js';
import { fullJitterDelay } from './backoff.js';
import { type RetryAdviceSource, retryAdvice } from './retry-after.js';
import type { RetryBudget } from './retry-budget.js';

export interface RetryPolicyOptions {
  /**
   * How many times a failed call may be retried: `maxRetries + 1` calls at most. `0` disables
   * retries.
   * @default 2 (at most 3 calls)
   */
  maxRetries?: number;
  /**
   * Longest server advice (`retry-after` and friends) honoured, in ms. A server asking for a
   * longer wait gets its error passed on at once, without waiting.
   * @default 60_000
   */
  maxRetryAfterMs?: number;
  /**
   * Envelope of the first retry's full-jitter backoff, in ms (used when the server gives no
   * advice): retry `n` (0-based) waits uniformly in [0, min(maxDelayMs, baseDelayMs * 2^n)].
   * @default 500
   */
  baseDelayMs?: number;
  /**
   * Largest full-jitter envelope, in ms.
   * @default 20_000
   */
  maxDelayMs?: number;
  /**
   * Whether an error may be retried.
   * @default isRetryableError — transient provider errors (429, 408, 409, 5xx, 529, timeouts,
   * connection errors), `x-should-retry` winning where present; never quota/billing errors,
   * client errors, aborts or non-provider errors.
   */
  retryOn?: (error: unknown) => boolean;
  /** Optional budget capping retries to a share of recent calls (in process or through Redis). */
  budget?: RetryBudget;
  /** Time source for waits. @default systemClock */
  clock?: Clock;
  /** Random source in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
}

export const RETRY_DEFAULTS = {
  maxRetries: 2,
  maxRetryAfterMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
} as const;

/** Fired before each wait. */
export interface RetryEvent {
  /** 1-based number of the retry about to happen. */
  attempt: number;
  /**
   * The wait before it, in whole ms: the backoff or the server's advice rounded up (never
   * shorter than the server asked).
   */
  delayMs: number;
  /** Kind of the error that caused it (see `classifyError`). */
  reason: ErrorKind;
  /** Where the delay came from: the server's advice, or our backoff. */
  delaySource: RetryAdviceSource | 'backoff';
  /** The error itself (may hold provider details; do not log it blindly). */
  error: unknown;
}

/** The `retry` part of the inspect snapshot. */
export interface RetrySnapshot {
  maxRetries: number;
  /** Retries counted by the budget over its window, as last seen (only with a budget). */
  retriesInWindow?: number;
}

/** Why the retries ended with an error. */
export type GiveUpReason =
  | 'not-retryable'
  | 'max-retries'
  | 'retry-after-too-long'
  | 'budget-exhausted'
  | 'aborted';

/** Fired when the policy passes an error on. */
export interface GiveUpEvent {
  /** Calls made, including the first. */
  calls: number;
  reason: GiveUpReason;
  /** The kind of the last error. */
  kind: ErrorKind;
  /** The error passed on to the caller. */
  error: unknown;
}

interface Resolved {
  maxRetries: number;
  maxRetryAfterMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

const OPTION_KEYS = optionKeys<RetryPolicyOptions>({
  maxRetries: true,
  maxRetryAfterMs: true,
  baseDelayMs: true,
  maxDelayMs: true,
  retryOn: true,
  budget: true,
  clock: true,
  random: true,
});
/** What cockatiel, p-retry and others call these options. */
const ALIASES = {
  retries: 'maxRetries',
  attempts: 'maxRetries',
  maxattempts: 'maxRetries',
  initialdelay: 'baseDelayMs',
  mindelay: 'baseDelayMs',
  maxdelay: 'maxDelayMs',
  shouldretry: 'retryOn',
  handle: 'retryOn',
};

function check(value: number, option: string, ok: boolean, expected: string): number {
  if (!ok) throw new InvalidConfigError(option, expected, value);
  return value;
}

function resolve(options: RetryPolicyOptions): Resolved {
  const d = RETRY_DEFAULTS;
  const maxRetries = options.maxRetries ?? d.maxRetries;
  check(
    maxRetries,
    'maxRetries',
    Number.isInteger(maxRetries) && maxRetries >= 0 && maxRetries <= 100,
    'an integer in [0, 100]',
  );
  const maxRetryAfterMs = options.maxRetryAfterMs ?? d.maxRetryAfterMs;
  check(
    maxRetryAfterMs,
    'maxRetryAfterMs',
    Number.isFinite(maxRetryAfterMs) && maxRetryAfterMs >= 0,
    'a finite number of ms >= 0',
  );
  const baseDelayMs = options.baseDelayMs ?? d.baseDelayMs;
  check(
    baseDelayMs,
    'baseDelayMs',
    Number.isFinite(baseDelayMs) && baseDelayMs >= 0,
    'a finite number of ms >= 0',
  );
  const maxDelayMs = options.maxDelayMs ?? Math.max(d.maxDelayMs, baseDelayMs);
  check(
    maxDelayMs,
    'maxDelayMs',
    Number.isFinite(maxDelayMs) && maxDelayMs >= baseDelayMs,
    `a finite number of ms >= baseDelayMs (${baseDelayMs})`,
  );
  return { maxRetries, maxRetryAfterMs, baseDelayMs, maxDelayMs };
}

const neverAborted = new AbortController().signal;

/**
 * Retries transient provider failures, honouring the server's Retry-After advice. Unlike
 * cockatiel's `retry`, a wait ends at once when the signal aborts (rejecting with the signal's
 * reason) and the function is not called again. A cockatiel `IPolicy`: use it alone or inside
 * cockatiel's `wrap`.
 */
export class RetryPolicy implements IPolicy<IRetryContext> {
  declare readonly _altReturn: never;
  readonly options: Readonly<Resolved>;
  private readonly retryOn: ((error: unknown) => boolean) | undefined;
  private readonly budget: RetryBudget | undefined;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly successEmitter = new SafeEventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new SafeEventEmitter<IFailureEvent>();
  private readonly retryEmitter = new SafeEventEmitter<RetryEvent>();
  private readonly giveUpEmitter = new SafeEventEmitter<GiveUpEvent>();

  /** Fired when a call succeeds (once, however many attempts it took). */
  readonly onSuccess: Event<ISuccessEvent> = this.successEmitter.addListener;
  /** Fired when the policy passes an error on (`handled`: it was retryable). */
  readonly onFailure: Event<IFailureEvent> = this.failureEmitter.addListener;
  /** Fired before each wait. */
  readonly onRetry: Event<RetryEvent> = this.retryEmitter.addListener;
  /** Fired when the retries end with an error. */
  readonly onGiveUp: Event<GiveUpEvent> = this.giveUpEmitter.addListener;

  constructor(options: RetryPolicyOptions = {}) {
    checkKnownKeys(options, OPTION_KEYS, 'retryPolicy()', { aliases: ALIASES });
    checkCallbacks(options, ['retryOn', 'random']);
    this.options = resolve(options);
    this.retryOn = options.retryOn;
    this.budget = options.budget;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** The `retry` part of the inspect snapshot (no I/O). */
  inspect(): RetrySnapshot {
    const snapshot: RetrySnapshot = { maxRetries: this.options.maxRetries };
    const seen = this.budget?.lastSeen;
    if (seen) snapshot.retriesInWindow = seen.retries;
    return snapshot;
  }

  async execute<T>(
    fn: (context: IRetryContext) => PromiseLike<T> | T,
    signal: AbortSignal = neverAborted,
  ): Promise<T> {
    const started = this.clock.now();
    if (signal.aborted) throw signal.reason;
    // Counted without waiting for it: the budget never rejects, and the call should not pay a
    // Redis round trip before it starts.
    void this.budget?.recordCall();
    for (let retries = 0; ; retries++) {
      if (signal.aborted) throw signal.reason;
      let delayMs: number;
      try {
        const value = await fn({ signal, attempt: retries });
        this.successEmitter.emit({ duration: roundMs(this.clock.now() - started) });
        return value;
      } catch (error) {
        const decision = await this.decide(error, retries, signal);
        if (typeof decision !== 'number') {
          this.giveUp(error, retries + 1, decision.reason, decision.handled, started);
          throw error;
        }
        delayMs = decision;
      }
      // Rejects at once with signal.reason on abort: nothing is called after an aborted wait.
      try {
        await sleep(this.clock, delayMs, signal);
      } catch (reason) {
        this.giveUp(reason, retries + 1, 'aborted', false, started);
        throw reason;
      }
    }
  }

  private async decide(
    error: unknown,
    retries: number,
    signal: AbortSignal,
  ): Promise<number | { reason: GiveUpReason; handled: boolean }> {
    if (signal.aborted) return { reason: 'aborted', handled: false };
    // With the caller's live signal, a bare AbortError is an abort they did not ask for (an SDK's
    // per-attempt timeout): a timeout, retried.
    const classified = classifyError(error, signal === neverAborted ? {} : { signal });
    const kind = classified.kind;
    if (kind === 'cancelled' || !(this.retryOn ? this.retryOn(error) : classified.retryable))
      return { reason: 'not-retryable', handled: false };
    if (retries >= this.options.maxRetries) return { reason: 'max-retries', handled: true };
    const advice = retryAdvice(error, this.clock.now());
    if (advice && advice.delayMs > this.options.maxRetryAfterMs) {
      return { reason: 'retry-after-too-long', handled: true };
    }
    const delayMs = ceilMs(advice?.delayMs ?? fullJitterDelay(this.options, retries, this.random));
    if (this.budget && !(await this.budget.tryRetry())) {
      return { reason: 'budget-exhausted', handled: true };
    }
    if (signal.aborted) return { reason: 'aborted', handled: false };
    this.retryEmitter.emit({
      attempt: retries + 1,
      delayMs,
      reason: kind,
      delaySource: advice?.source ?? 'backoff',
      error,
    });
    return delayMs;
  }

  private giveUp(
    error: unknown,
    calls: number,
    reason: GiveUpReason,
    handled: boolean,
    started: number,
  ): void {
    // An abort is the caller's, whatever reason it was given (a plain Error, a string).
    const kind = reason === 'aborted' ? 'cancelled' : classifyError(error).kind;
    this.giveUpEmitter.emit({ calls, reason, kind, error });
    this.failureEmitter.emit({
      duration: roundMs(this.clock.now() - started),
      handled,
      reason: { error },
    });
  }
}

/** Creates a {@link RetryPolicy}. */
export function retryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  return new RetryPolicy(options);
}
