import type {
  Event,
  IDefaultPolicyContext,
  IFailureEvent,
  IPolicy,
  ISuccessEvent,
} from 'cockatiel';
import { CircuitBreakerPolicy } from '../circuit/circuit-breaker-policy.js';
import type { CircuitSnapshot } from '../circuit/circuit-snapshot.js';
import { type Clock, systemClock } from '../clock.js';
import { BulkheadPolicy } from '../concurrency/bulkhead-policy.js';
import { SafeEventEmitter } from '../events/safe-event-emitter.js';
import { FallbackPolicy } from '../fallback/fallback-policy.js';
import type { BudgetDimensionSnapshot } from '../limiter/budget.js';
import type { GiveUpEvent, RetryEvent } from '../retry/retry-policy.js';
import { RetryPolicy } from '../retry/retry-policy.js';
import type { Accounting } from './accounting.js';
import { BudgetRouter } from './budget-routing.js';
import {
  type BudgetedFetchDeps,
  budgetedFetch,
  type HoldEvent,
  type SettleEvent,
  type ThrottleEvent,
} from './budgeted-fetch.js';
import { type AttemptContext, anySignal, attemptContext } from './call-context.js';
import {
  checkPipelineOptions,
  PIPELINE_DEFAULTS,
  type ProviderPolicyOptions,
  resolveRetry,
  resolveStore,
  resolveTimeout,
} from './pipeline-options.js';
import type { FeedbackSnapshot, LimitChangeEvent } from './provider-feedback.js';

/** The pipeline's snapshot: JSON-safe, no API key, no prompt text. */
export interface PipelineSnapshot {
  readonly preset?: {
    readonly provider: string;
    readonly scheme: string;
    readonly tier: string;
    readonly modelClass: string;
    readonly asOf: string;
  };
  readonly circuit: CircuitSnapshot;
  /** Every dimension of every model class's budget used so far (the primary one first). */
  readonly limits: readonly (BudgetDimensionSnapshot & { readonly modelClass: string })[];
  readonly bulkhead?: { readonly executing: number; readonly queued: number };
  readonly retry: { readonly maxRetries: number; readonly retriesInWindow?: number };
  /** Where the provider's feedback has moved a budget's limits (absent: nowhere). */
  readonly feedback?: readonly FeedbackSnapshot[];
}

/** A call ran through `execute` without the policy seeing its request. */
export interface UnseenEvent {
  /** Why it matters: the call was not charged to the budget. */
  readonly reason: 'no-request-seen';
}

/**
 * A provider pipeline: fallback -> retry -> circuit breaker -> budget (requests and tokens) ->
 * bulkhead -> timeout -> call, as one cockatiel `IPolicy`. The outer stages run in `execute`; the
 * budget, the bulkhead and the attempt timeout run in `fetch`, which the SDK calls with the real
 * request, so every attempt is charged what the provider will count and settled on the usage it
 * reports, streams included.
 */
export class ProviderPolicy implements IPolicy {
  declare readonly _altReturn: never;
  /** Give it to the SDK: `new Anthropic({ fetch: policy.fetch, maxRetries: 0 })`. */
  readonly fetch: typeof globalThis.fetch;
  private readonly router: BudgetRouter;
  private readonly retry: RetryPolicy | undefined;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly bulkhead: BulkheadPolicy | undefined;
  private readonly fallback: FallbackPolicy<unknown> | undefined;
  private readonly totalMs: number | undefined;
  private readonly clock: Clock;
  private readonly throttleEmitter = new SafeEventEmitter<ThrottleEvent>();
  private readonly settleEmitter = new SafeEventEmitter<SettleEvent>();
  private readonly holdEmitter = new SafeEventEmitter<HoldEvent>();
  private readonly unseenEmitter = new SafeEventEmitter<UnseenEvent>();
  private readonly limitChangeEmitter = new SafeEventEmitter<LimitChangeEvent>();
  private readonly successEmitter = new SafeEventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new SafeEventEmitter<IFailureEvent>();

  /** A call waited for budget. */
  readonly onThrottle: Event<ThrottleEvent> = this.throttleEmitter.addListener;
  /** A call was settled on the provider's usage (or what a failed attempt used). */
  readonly onSettle: Event<SettleEvent> = this.settleEmitter.addListener;
  /** A 429 held a dimension for every worker sharing the budget. */
  readonly onHold: Event<HoldEvent> = this.holdEmitter.addListener;
  /**
   * A dimension's limit changed: the provider's headers report a lower limit than configured, or
   * 429s that no header explains cut the rate (and a quiet period restores it).
   */
  readonly onLimitChange: Event<LimitChangeEvent> = this.limitChangeEmitter.addListener;
  /** `execute` ran a call whose request the policy never saw (the SDK lacks `policy.fetch`). */
  readonly onUnseen: Event<UnseenEvent> = this.unseenEmitter.addListener;
  /** A logical call succeeded (after its retries, or through the fallback). */
  readonly onSuccess: Event<ISuccessEvent> = this.successEmitter.addListener;
  /** A logical call failed with `reason`. */
  readonly onFailure: Event<IFailureEvent> = this.failureEmitter.addListener;
  /** Before each retry. */
  readonly onRetry: Event<RetryEvent>;
  /** When the retries end with an error. */
  readonly onGiveUp: Event<GiveUpEvent>;
  /** The circuit's state changed. */
  readonly onStateChange: Event<CircuitSnapshot>;

  /** @internal use anthropicPolicy() or openaiPolicy() */
  constructor(accounting: Accounting, options: ProviderPolicyOptions, where: string) {
    checkPipelineOptions(options, where, accounting.provider);
    this.clock = options.clock ?? systemClock;
    const clock = options.clock ? { clock: options.clock } : {};
    const store = resolveStore(options);
    this.router = new BudgetRouter({
      accounting,
      ...(options.tier !== undefined ? { tier: options.tier } : {}),
      ...(options.preset ? { preset: options.preset } : {}),
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.outputTokens ? { outputTokens: options.outputTokens } : {}),
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
      ...(store ? { store } : {}),
      ...clock,
      periodMs: options.periodMs ?? PIPELINE_DEFAULTS.periodMs,
      utilization: options.utilization ?? PIPELINE_DEFAULTS.utilization,
      key: options.key ?? PIPELINE_DEFAULTS.key,
      tenantShare: options.tenantShare ?? PIPELINE_DEFAULTS.tenantShare,
      arrivalLagMs: options.arrivalLagMs ?? PIPELINE_DEFAULTS.arrivalLagMs,
      onLimitChange: (e) => this.limitChangeEmitter.emit(e),
    });
    const retry = resolveRetry(options);
    this.retry = retry ? new RetryPolicy({ ...retry, ...clock }) : undefined;
    // The breaker is always there, so `inspect()` always shows a circuit; `false` never opens it.
    this.breaker = new CircuitBreakerPolicy({
      ...PIPELINE_DEFAULTS.circuit,
      ...(options.circuit === false ? { isFailure: () => false } : options.circuit),
      ...clock,
    });
    this.bulkhead =
      options.bulkhead === false
        ? undefined
        : new BulkheadPolicy({ ...PIPELINE_DEFAULTS.bulkhead, ...options.bulkhead, ...clock });
    this.fallback = options.fallback
      ? new FallbackPolicy<unknown>({
          to: options.fallback.to,
          ...(options.fallback.on ? { on: options.fallback.on } : {}),
        })
      : undefined;
    const timeout = resolveTimeout(options.timeout);
    this.totalMs = timeout.totalMs;
    const noRetries = new SafeEventEmitter<never>();
    this.onRetry = this.retry?.onRetry ?? (noRetries.addListener as Event<RetryEvent>);
    this.onGiveUp = this.retry?.onGiveUp ?? (noRetries.addListener as Event<GiveUpEvent>);
    this.onStateChange = this.breaker.onStateChange;
    const deps: BudgetedFetchDeps = {
      accounting,
      router: this.router,
      realFetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      maxWaitMs: options.maxWaitMs ?? PIPELINE_DEFAULTS.maxWaitMs,
      ...(timeout.attemptMs !== undefined ? { attemptMs: timeout.attemptMs } : {}),
      ...(options.tokenCounter ? { counter: options.tokenCounter } : {}),
      withSlot: (signal, work) => this.withSlot(signal, work),
      onThrottle: (e) => this.throttleEmitter.emit(e),
      onSettle: (e) => this.settleEmitter.emit(e),
      onHold: (e) => this.holdEmitter.emit(e),
      now: () => this.clock.now(),
    };
    this.fetch = budgetedFetch(deps);
  }

  /**
   * Runs `fn` (which calls the SDK) through the pipeline. Each attempt pays its own budget; an
   * SDK stream helper (`messages.stream()`) counts as an attempt until it has connected.
   */
  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    const total = this.totalMs !== undefined ? AbortSignal.timeout(this.totalMs) : undefined;
    const outer = anySignal(signal, total);
    const attempt = (s: AbortSignal | undefined) => this.attempt(fn, s);
    const retried = (s: AbortSignal | undefined) =>
      this.retry ? this.retry.execute((ctx) => attempt(ctx.signal), s) : attempt(s);
    const started = this.clock.now();
    try {
      const value = this.fallback
        ? ((await this.fallback.execute((ctx) => retried(ctx.signal), outer)) as T)
        : await retried(outer);
      this.successEmitter.emit({ duration: Math.round(this.clock.now() - started) });
      return value;
    } catch (error) {
      this.failureEmitter.emit({
        duration: Math.round(this.clock.now() - started),
        handled: true,
        reason: { error },
      });
      throw error;
    }
  }

  /** What the pipeline looks like now. */
  async inspect(): Promise<PipelineSnapshot> {
    const primary = this.router.primary;
    const targets = primary
      ? [primary, ...this.router.all.filter((t) => t !== primary)]
      : this.router.all;
    const limits = (
      await Promise.all(
        targets.map(async (t) =>
          (await t.budget.inspect()).map((d) => ({ ...d, modelClass: t.modelClass })),
        ),
      )
    ).flat();
    const preset = primary?.preset;
    const bulkhead = this.bulkhead?.inspect();
    const nowMs = this.clock.now();
    const feedback = targets
      .map((t) => t.feedback.snapshot(nowMs))
      .filter(
        (f) =>
          f.adaptiveFactor < 1 ||
          Object.keys(f.providerLimits).length > 0 ||
          Object.keys(f.outsideSpend).length > 0 ||
          f.quotaStoppedUntil !== undefined,
      );
    return {
      ...(preset
        ? {
            preset: {
              provider: preset.provider,
              scheme: preset.scheme,
              tier: preset.tier,
              modelClass: preset.modelClass,
              asOf: preset.asOf,
            },
          }
        : {}),
      circuit: this.breaker.inspect(),
      limits,
      ...(bulkhead ? { bulkhead: { executing: bulkhead.executing, queued: bulkhead.queued } } : {}),
      retry: this.retry ? this.retry.inspect() : { maxRetries: 0 },
      ...(feedback.length > 0 ? { feedback } : {}),
    };
  }

  /** Stops background work (a shared circuit's polling). */
  dispose(): void {
    this.breaker.dispose();
  }

  /**
   * One attempt, through the breaker: `fn` inside the attempt's context, waiting for a stream
   * helper to connect. A stream is handed to the caller at once, while the breaker waits for its
   * end: a stream that breaks after its first event counts as a failure (it is not retried).
   */
  private attempt<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.breaker
        .execute(async (ctx) => {
          const context: AttemptContext = { signal: ctx.signal, requests: 0 };
          const value = await attemptContext.run(context, async () => {
            try {
              const result = await fn({ signal: ctx.signal });
              await connected(result);
              return result;
            } catch (error) {
              throw context.stageError ?? error;
            }
          });
          if (context.requests === 0) this.unseenEmitter.emit({ reason: 'no-request-seen' });
          if (context.streamEnd) {
            resolve(value);
            await context.streamEnd;
          }
          return value;
        }, signal)
        // Once a stream was handed over, its later failure only reaches the breaker.
        .then(resolve, reject);
    });
  }

  /** Takes a bulkhead slot for `work`, held until `work` calls `release`. */
  private withSlot<T>(
    signal: AbortSignal | undefined,
    work: (release: () => void) => Promise<T>,
  ): Promise<T> {
    const bulkhead = this.bulkhead;
    if (!bulkhead) return work(() => undefined);
    return new Promise<T>((resolve, reject) => {
      bulkhead
        .execute(
          () =>
            new Promise<void>((done) => {
              work(done).then(resolve, (error: unknown) => {
                done();
                reject(error);
              });
            }),
          signal,
        )
        .catch(reject);
    });
  }
}

/**
 * SDK stream helpers (Anthropic's `messages.stream()`) return at once and connect later: the
 * attempt lasts until they have connected, so an error before the first event is retried (the
 * policy's fetch answers a stream only once its first event has arrived).
 */
async function connected(result: unknown): Promise<void> {
  if (typeof result !== 'object' || result === null) return;
  const helper = result as {
    withResponse?: unknown;
    on?: unknown;
    finalMessage?: unknown;
    then?: unknown;
  };
  if (
    typeof helper.then !== 'function' &&
    typeof helper.withResponse === 'function' &&
    typeof helper.on === 'function'
  ) {
    await (helper.withResponse as () => Promise<unknown>).call(result);
  }
}
