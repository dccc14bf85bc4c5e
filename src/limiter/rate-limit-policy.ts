import type { IDefaultPolicyContext, IFailureEvent, IPolicy, ISuccessEvent } from 'cockatiel';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { isLlmResilienceError } from '../errors/llm-resilience-error.js';
import { roundMs } from '../events/event-numbers.js';
import { reportError, SafeEventEmitter } from '../events/safe-event-emitter.js';
import { checkCallbacks, checkKnownKeys, optionKeys } from '../options/check-options.js';
import type { Acquirer, Cost } from './acquirer.js';
import { normaliseCosts } from './permit.js';

/** Fired when a call had to wait for its slot. */
export interface ThrottleEvent {
  /** Key of the limiter that set the wait. */
  readonly key: string;
  /** Costs reserved, one per limiter. */
  readonly cost: readonly number[];
  /** ms the call waited before it started, in whole µs (three decimals at most). */
  readonly waitedMs: number;
}

export interface RateLimitPolicyOptions {
  /**
   * Cost of one call: a number (every limiter), one number per limiter of a group, or a function
   * of the call's context returning either.
   * @default 1
   */
  cost?: Cost | ((context: IDefaultPolicyContext) => Cost);
  /**
   * Longest wait for a slot, in ms; beyond it the call is refused at once with
   * `RateLimitExceededError` and nothing is consumed.
   * @default 60_000
   */
  maxWaitMs?: number;
  /**
   * Real cost of a call from its result (for example output tokens from `usage`). When given and
   * it returns a cost, the reservation is settled to it: the difference is refunded or charged.
   */
  settle?: (result: unknown) => Cost | undefined;
  /** Time source for event durations. @default systemClock */
  clock?: Clock;
}

const DEFAULT_MAX_WAIT_MS = 60_000;
const OPTION_KEYS = optionKeys<RateLimitPolicyOptions>({
  cost: true,
  maxWaitMs: true,
  settle: true,
  clock: true,
});
const ALIASES = { timeout: 'maxWaitMs', weight: 'cost', tokens: 'cost' };

/**
 * A cockatiel policy that makes every call take its slot from a limiter (or an all-or-nothing
 * group) before it runs. Compose it with cockatiel's `wrap`, inside retry and the breaker, so
 * every attempt pays for its slot.
 */
export class RateLimitPolicy implements IPolicy {
  declare readonly _altReturn: never;
  private readonly successEmitter = new SafeEventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new SafeEventEmitter<IFailureEvent>();
  private readonly throttleEmitter = new SafeEventEmitter<ThrottleEvent>();

  readonly onSuccess = this.successEmitter.addListener;
  readonly onFailure = this.failureEmitter.addListener;
  /** Fires each time a call waited for its slot. */
  readonly onThrottle = this.throttleEmitter.addListener;

  private readonly maxWaitMs: number;
  private readonly clock: Clock;

  constructor(
    readonly acquirer: Acquirer,
    private readonly options: RateLimitPolicyOptions = {},
  ) {
    if (typeof acquirer?.acquire !== 'function' || !Array.isArray(acquirer.limiters)) {
      throw new InvalidArgumentError(
        'acquirer',
        'a limiter or a limiter group (gcra(), tokenBucket(), limiterGroup())',
        acquirer,
        'rateLimitPolicy()',
      );
    }
    checkKnownKeys(options, OPTION_KEYS, 'rateLimitPolicy()', { aliases: ALIASES });
    checkCallbacks(options, ['settle']);
    if (typeof options.cost !== 'function') checkFixedCost(acquirer, options.cost ?? 1);
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    if (typeof this.maxWaitMs !== 'number' || Number.isNaN(this.maxWaitMs) || this.maxWaitMs < 0) {
      throw new InvalidConfigError('maxWaitMs', 'a number >= 0 (Infinity allowed)', this.maxWaitMs);
    }
    this.clock = options.clock ?? systemClock;
  }

  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<T> {
    const context: IDefaultPolicyContext = { signal };
    const started = this.clock.now();
    const cost =
      typeof this.options.cost === 'function'
        ? this.options.cost(context)
        : (this.options.cost ?? 1);
    let permit: Awaited<ReturnType<Acquirer['acquire']>>;
    try {
      permit = await this.acquirer.acquire(cost, { signal, maxWaitMs: this.maxWaitMs });
    } catch (error) {
      this.failureEmitter.emit({
        duration: roundMs(this.clock.now() - started),
        handled: isLlmResilienceError(error),
        reason: { error },
      });
      throw error;
    }
    if (permit.waitedMs > 0) {
      this.throttleEmitter.emit({
        key: permit.bindingKey,
        cost: permit.costs,
        waitedMs: permit.waitedMs,
      });
    }
    let result: T;
    try {
      result = await fn(context);
    } catch (error) {
      this.failureEmitter.emit({
        duration: roundMs(this.clock.now() - started),
        handled: false,
        reason: { error },
      });
      throw error;
    }
    try {
      const actual = this.options.settle?.(result);
      if (actual !== undefined) await permit.settle(actual);
    } catch (error) {
      // The call succeeded and was billed: failing it now would invite a retry that bills again.
      reportError("settling a call's cost failed; the reservation stands", error);
    }
    this.successEmitter.emit({ duration: roundMs(this.clock.now() - started) });
    return result;
  }
}

/**
 * A fixed cost is known now: one that can never be admitted (above a member's burst) would fail
 * every call, so it is refused here rather than at the first `execute`.
 */
function checkFixedCost(acquirer: Acquirer, cost: Cost): void {
  const costs = normaliseCosts(cost, acquirer.limiters.length, (expected, received) => {
    return new InvalidConfigError('cost', expected, received);
  });
  acquirer.limiters.forEach(({ key, rate }, i) => {
    if (costs[i]! > rate.burst) {
      throw new InvalidConfigError(
        'cost',
        `at most the burst of "${key}" (${rate.burst}): a call costing more can never be admitted`,
        costs[i],
      );
    }
  });
}

/** Builds a `RateLimitPolicy` over a limiter or a limiter group. */
export function rateLimitPolicy(
  acquirer: Acquirer,
  options?: RateLimitPolicyOptions,
): RateLimitPolicy {
  return new RateLimitPolicy(acquirer, options);
}
