import { randomUUID } from 'node:crypto';
import {
  BrokenCircuitError,
  CircuitState,
  type CircuitBreakerPolicy as CockatielBreaker,
  ConsecutiveBreaker,
  circuitBreaker,
  type Event,
  handleWhen,
  type IBreaker,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
  SamplingBreaker,
} from 'cockatiel';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { roundMs } from '../events/event-numbers.js';
import { SafeEventEmitter } from '../events/safe-event-emitter.js';
import { classifyError, isProviderFailure } from '../providers/classify.js';
import { CIRCUIT_DEFAULTS, type CircuitBreakerPolicyOptions, validate } from './circuit-options.js';
import {
  type CircuitFailure,
  type CircuitSnapshot,
  type CircuitStateName,
  describeFailure,
} from './circuit-snapshot.js';
import { type SharedCircuitState, SharedCircuitStore } from './shared-circuit.js';

export type {
  CircuitBreakerPolicyOptions,
  CircuitSamplingOptions,
  SharedCircuitOptions,
} from './circuit-options.js';
export { CIRCUIT_DEFAULTS } from './circuit-options.js';

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

interface SharedView {
  store: SharedCircuitStore;
  syncIntervalMs: number;
  probeLeaseMs: number;
  workerId: string;
  timer?: ReturnType<typeof setInterval>;
  /** Stops the pub/sub subscription. */
  unwatch?: () => void;
  /** Last state read from Redis, with local deadlines. */
  remote?: SharedCircuitState & { halfOpenAtLocal: number; sinceLocal: number };
  probing: boolean;
  /** Bumped when this worker opens the circuit: replies to reads sent before are stale. */
  generation: number;
}

/**
 * A circuit breaker built on cockatiel's `circuitBreaker` (consecutive or sampling breaker), with
 * a JSON-safe snapshot (`inspect()`), typed state events and, optionally, one circuit shared by
 * every worker through Redis: an open seen by one worker is seen by all within a few ms (Redis
 * pub/sub, one subscriber connection per client), or within `syncIntervalMs` by polling when a
 * message is lost, and only one worker sends the half-open probe.
 *
 * With `shared`, if Redis cannot be reached, each worker falls back to its own local breaker.
 * Call `dispose()` to stop the shared-state polling and subscription.
 */
export class CircuitBreakerPolicy implements IPolicy {
  declare readonly _altReturn: never;
  private readonly clock: Clock;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly halfOpenAfterMs: number;
  private readonly makeBreaker: () => IBreaker;
  private readonly halfOpenSampling: { calls: number; threshold: number } | undefined;
  private inner!: CockatielBreaker;
  private innerSubscriptions: { dispose(): void }[] = [];
  private localSince: number;
  private lastFailure: CircuitFailure | undefined;
  private lastEmitted: CircuitSnapshot | undefined;
  private readonly shared: SharedView | undefined;
  private readonly stateEmitter = new SafeEventEmitter<CircuitSnapshot>();
  private readonly successEmitter = new SafeEventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new SafeEventEmitter<IFailureEvent>();

  /** Fires with the new snapshot whenever the state changes. */
  readonly onStateChange: Event<CircuitSnapshot> = this.stateEmitter.addListener;
  /** cockatiel's success event of the underlying breaker. */
  readonly onSuccess: Event<ISuccessEvent> = this.successEmitter.addListener;
  /** cockatiel's failure event of the underlying breaker. */
  readonly onFailure: Event<IFailureEvent> = this.failureEmitter.addListener;

  constructor(options: CircuitBreakerPolicyOptions = {}) {
    validate(options);
    this.clock = options.clock ?? systemClock;
    this.isFailure = options.isFailure ?? isProviderFailure;
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? CIRCUIT_DEFAULTS.halfOpenAfterMs;
    const sampling = options.sampling;
    const consecutive = options.consecutiveFailures ?? CIRCUIT_DEFAULTS.consecutiveFailures;
    this.makeBreaker = sampling
      ? () =>
          new SamplingBreaker({
            threshold: sampling.threshold,
            duration: sampling.durationMs,
            ...(sampling.minimumRps !== undefined ? { minimumRps: sampling.minimumRps } : {}),
          })
      : () => new ConsecutiveBreaker(consecutive);
    this.halfOpenSampling = options.halfOpenSampling;
    this.localSince = this.clock.now();
    this.resetInner();
    this.lastEmitted = this.inspect();
    if (options.shared) {
      this.shared = {
        store: new SharedCircuitStore(options.shared.redis, options.shared.key),
        syncIntervalMs: options.shared.syncIntervalMs ?? CIRCUIT_DEFAULTS.syncIntervalMs,
        probeLeaseMs: options.shared.probeLeaseMs ?? Math.max(1000, this.halfOpenAfterMs),
        workerId: randomUUID(),
        probing: false,
        generation: 0,
      };
      this.startSync();
    }
  }

  /** (Re)creates the local cockatiel breaker, closed. */
  private resetInner(): void {
    for (const s of this.innerSubscriptions) s.dispose();
    // While half-open, cockatiel takes any error it does not handle for a success and closes. A
    // probe its caller cancelled says nothing about the provider, so there it counts as a failure:
    // the circuit stays open for another halfOpenAfterMs instead of closing blind.
    const counts = (error: unknown) =>
      this.isFailure(error) ||
      (this.inner?.state === CircuitState.HalfOpen && classifyError(error).kind === 'cancelled');
    const inner = circuitBreaker(handleWhen(counts), {
      halfOpenAfter: this.halfOpenAfterMs,
      breaker: this.makeBreaker(),
      ...(this.halfOpenSampling ? { halfOpenSampling: this.halfOpenSampling } : {}),
    });
    this.inner = inner;
    this.innerSubscriptions = [
      inner.onSuccess((e) => this.successEmitter.emit({ duration: roundMs(e.duration) })),
      inner.onFailure((e) => {
        if (e.handled && 'error' in e.reason && this.isFailure(e.reason.error)) {
          this.lastFailure = describeFailure(e.reason.error);
        }
        this.failureEmitter.emit({ ...e, duration: roundMs(e.duration) });
      }),
      inner.onStateChange((state) => {
        if (this.inner !== inner) return;
        this.localSince = this.clock.now();
        if (state === CircuitState.Open && this.shared) this.publishOpen();
        this.emitIfChanged();
      }),
    ];
  }

  /** The `circuit` part of the inspect snapshot. JSON-safe; no key, no prompt text. */
  inspect(): CircuitSnapshot {
    const remote = this.shared?.remote;
    let state: CircuitStateName;
    let since: number;
    let lastFailure = this.lastFailure;
    if (remote?.state === 'open' && this.inner.state !== CircuitState.Isolated) {
      state = remote.probing || this.shared?.probing ? 'half-open' : 'open';
      since = remote.sinceLocal;
      lastFailure = remote.lastFailure ?? lastFailure;
    } else {
      state = STATE_NAMES[this.inner.state];
      since = this.localSince;
    }
    const snapshot: CircuitSnapshot = { state, since: roundMs(since) };
    if (lastFailure) snapshot.lastFailure = { ...lastFailure };
    return snapshot;
  }

  /** Holds the circuit open in this process until the returned handle is disposed. */
  isolate(): { dispose(): void } {
    return this.inner.isolate();
  }

  /**
   * Stops the shared-state polling and subscription (the Redis client is the caller's to close;
   * closing it also closes the subscriber connection).
   */
  dispose(): void {
    if (this.shared?.timer) clearInterval(this.shared.timer);
    this.shared?.unwatch?.();
    if (this.shared) {
      this.shared.timer = undefined;
      this.shared.unwatch = undefined;
    }
  }

  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    const shared = this.shared;
    const remote = shared?.remote;
    if (shared && remote?.state === 'open' && this.inner.state !== CircuitState.Isolated) {
      if (this.clock.now() < remote.halfOpenAtLocal) throw new BrokenCircuitError();
      return this.probe(shared, fn, signal);
    }
    return this.inner.execute(fn, signal);
  }

  private async probe<T>(
    shared: SharedView,
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    let grant: { granted: boolean; state: SharedCircuitState };
    try {
      grant = await shared.store.tryProbe(shared.workerId, shared.probeLeaseMs);
    } catch {
      // Redis unreachable: this worker decides alone.
      return this.inner.execute(fn, signal);
    }
    this.applyRemote(grant.state);
    if (!grant.granted) {
      if (grant.state.state === 'closed') return this.inner.execute(fn, signal);
      throw new BrokenCircuitError();
    }
    const epoch = grant.state.epoch;
    shared.probing = true;
    this.emitIfChanged();
    const ctx: IDefaultPolicyContext = { signal: signal ?? new AbortController().signal };
    const started = this.clock.now();
    try {
      const value = await fn(ctx);
      await this.reportProbe(shared, epoch, 'success', undefined);
      this.successEmitter.emit({ duration: roundMs(this.clock.now() - started) });
      return value;
    } catch (error) {
      const failed = this.isFailure(error);
      if (failed) this.lastFailure = describeFailure(error);
      // A probe its caller cancelled says nothing about the provider: free it, decide nothing.
      const cancelled = !failed && (signal?.aborted || classifyError(error).kind === 'cancelled');
      const outcome = failed ? 'failure' : cancelled ? 'abandon' : 'success';
      await this.reportProbe(shared, epoch, outcome, this.lastFailure);
      this.failureEmitter.emit({
        duration: roundMs(this.clock.now() - started),
        handled: failed,
        reason: { error },
      });
      throw error;
    } finally {
      shared.probing = false;
      this.emitIfChanged();
    }
  }

  private async reportProbe(
    shared: SharedView,
    epoch: number,
    outcome: 'success' | 'failure' | 'abandon',
    failure: CircuitFailure | undefined,
  ): Promise<void> {
    try {
      const state = await shared.store.report(
        shared.workerId,
        epoch,
        outcome,
        this.halfOpenAfterMs,
        failure,
      );
      this.applyRemote(state);
    } catch {
      // Redis unreachable: the probe lease expires and another worker probes again.
    }
  }

  private publishOpen(): void {
    const shared = this.shared;
    if (!shared) return;
    const now = this.clock.now();
    // Seen locally at once, by the other workers when Redis publishes the change.
    this.applyRemote({
      state: 'open',
      epoch: shared.remote?.epoch ?? 0,
      msSinceChange: 0,
      msUntilHalfOpen: this.halfOpenAfterMs,
      probing: false,
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    });
    if (shared.remote) shared.remote.sinceLocal = now;
    shared.generation++;
    shared.store.open(this.halfOpenAfterMs, this.lastFailure).then(
      (state) => this.applyRemote(state),
      () => {
        // Redis unreachable: the local breaker keeps working on its own.
        if (this.shared) this.shared.remote = undefined;
      },
    );
  }

  private startSync(): void {
    const shared = this.shared;
    if (!shared) return;
    const tick = () => {
      const generation = shared.generation;
      shared.store.read().then(
        (state) => {
          if (generation === shared.generation) this.applyRemote(state);
        },
        () => {
          // Keep the last known state; local breaker still protects this worker.
        },
      );
    };
    tick();
    // Pub/sub brings changes within a few ms; the poll finds those published while unsubscribed.
    shared.unwatch = shared.store.watch(tick);
    shared.timer = setInterval(tick, shared.syncIntervalMs);
    shared.timer.unref?.();
  }

  private applyRemote(state: SharedCircuitState): void {
    const shared = this.shared;
    if (!shared) return;
    const now = this.clock.now();
    const previous = shared.remote;
    shared.remote = {
      ...state,
      halfOpenAtLocal: now + state.msUntilHalfOpen,
      sinceLocal: now - state.msSinceChange,
    };
    // The shared circuit closed (another worker's probe succeeded): start afresh locally.
    if (
      state.state === 'closed' &&
      (this.inner.state === CircuitState.Open || this.inner.state === CircuitState.HalfOpen) &&
      (previous?.state === 'open' || previous === undefined)
    ) {
      this.resetInner();
      this.localSince = shared.remote.sinceLocal;
    }
    this.emitIfChanged();
  }

  private emitIfChanged(): void {
    const snapshot = this.inspect();
    if (this.lastEmitted?.state === snapshot.state) return;
    this.lastEmitted = snapshot;
    this.stateEmitter.emit(snapshot);
  }
}

/** Creates a {@link CircuitBreakerPolicy}. */
export function circuitBreakerPolicy(
  options: CircuitBreakerPolicyOptions = {},
): CircuitBreakerPolicy {
  return new CircuitBreakerPolicy(options);
}
