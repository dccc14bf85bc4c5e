import {
  type Event,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
  isBrokenCircuitError,
  isBulkheadRejectedError,
} from 'cockatiel';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { isRateLimitExceededError } from '../errors/rate-limit-exceeded-error.js';
import { roundMs } from '../events/event-numbers.js';
import { SafeEventEmitter } from '../events/safe-event-emitter.js';
import { checkCallbacks, checkKnownKeys, optionKeys } from '../options/check-options.js';
import { classifyError, type ErrorKind } from '../providers/classify.js';

/**
 * The default whitelist: transient provider errors (rate limit, overload, 5xx, timeout,
 * connection, 409), an open or isolated circuit (cockatiel's `BrokenCircuitError`), a limiter
 * wait above `maxWaitMs` (`RateLimitExceededError`) and a full bulkhead (cockatiel's
 * `BulkheadRejectedError`). Never aborts, client errors (400/401/403/404/413/422),
 * billing/quota errors or programming errors (TypeError and the like).
 */
export function shouldFallback(error: unknown): boolean {
  if (isBrokenCircuitError(error)) return true;
  if (isRateLimitExceededError(error)) return true;
  if (isBulkheadRejectedError(error)) return true;
  return classifyError(error).transient;
}

export interface FallbackPolicyOptions<R> {
  /** Produces the backup result; sees the error that triggered it. */
  to: (error: unknown) => R | PromiseLike<R>;
  /**
   * Which errors trigger the fallback. An abort (the caller's signal aborted, or an abort error)
   * never does, whatever this says.
   * @default shouldFallback
   */
  on?: (error: unknown) => boolean;
}

const OPTION_KEYS = optionKeys<FallbackPolicyOptions<unknown>>({ to: true, on: true });
/** What other libraries call these options. */
const ALIASES = {
  fallback: 'to',
  value: 'to',
  handler: 'to',
  when: 'on',
  onerror: 'on',
  handle: 'on',
  shouldfallback: 'on',
};

/** Fired when the fallback answers instead of the call. */
export interface FallbackEvent {
  /**
   * Kind of the triggering error (see `classifyError`): `circuit-open` for an open circuit,
   * `unknown` for a limiter wait above `maxWaitMs` or a full bulkhead.
   */
  kind: ErrorKind;
  error: unknown;
}

/**
 * Answers with `to(error)` when the call fails with a whitelisted error; every other error passes
 * through untouched. A cockatiel `IPolicy` (outermost in the provider pipeline).
 */
export class FallbackPolicy<R> implements IPolicy<IDefaultPolicyContext, R> {
  declare readonly _altReturn: R;
  private readonly to: (error: unknown) => R | PromiseLike<R>;
  private readonly on: (error: unknown) => boolean;
  private readonly fallbackEmitter = new SafeEventEmitter<FallbackEvent>();
  private readonly successEmitter = new SafeEventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new SafeEventEmitter<IFailureEvent>();

  /** The fallback answered. */
  readonly onFallback: Event<FallbackEvent> = this.fallbackEmitter.addListener;
  readonly onSuccess: Event<ISuccessEvent> = this.successEmitter.addListener;
  /** The call failed (`handled`: the fallback took over). */
  readonly onFailure: Event<IFailureEvent> = this.failureEmitter.addListener;

  constructor(options: FallbackPolicyOptions<R>) {
    checkKnownKeys(options, OPTION_KEYS, 'fallbackPolicy()', { aliases: ALIASES, required: true });
    checkCallbacks(options, ['on']);
    if (typeof options?.to !== 'function') {
      throw new InvalidConfigError('to', 'a function (error) => backup result', options?.to);
    }
    this.to = options.to;
    this.on = options.on ?? shouldFallback;
  }

  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T | R> {
    const started = performance.now();
    try {
      const value = await fn({ signal: signal ?? new AbortController().signal });
      this.successEmitter.emit({ duration: roundMs(performance.now() - started) });
      return value;
    } catch (error) {
      const kind = classifyError(error).kind;
      const handled = !signal?.aborted && kind !== 'cancelled' && this.on(error);
      this.failureEmitter.emit({
        duration: roundMs(performance.now() - started),
        handled,
        reason: { error },
      });
      if (!handled) throw error;
      this.fallbackEmitter.emit({ kind, error });
      return await this.to(error);
    }
  }
}

/** Creates a {@link FallbackPolicy}. */
export function fallbackPolicy<R>(options: FallbackPolicyOptions<R>): FallbackPolicy<R> {
  return new FallbackPolicy(options);
}
