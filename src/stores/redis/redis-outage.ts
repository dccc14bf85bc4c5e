/**
 * When a RedisStore counts Redis as away, and when it looks for its return. The first operation
 * that fails for want of Redis starts an outage; from then on a check (the store's `probe`) runs
 * at most once per `recheckMs`, started by an operation or by a timer of its own, and a probe
 * that gets through ends the outage. What to probe and what to do on return is the store's.
 *
 * Once the probe has reached Redis (it says so), the keys served locally re-enter Redis one by
 * one; operations arriving meanwhile wait for that to end instead of being served locally: a
 * call served locally on a key whose re-entry was already on its way never reached Redis, and
 * Redis granted its slot again (test/faults/local-reentry-keeps-grants.test.ts).
 */

import { LimiterUnavailableError } from '../../errors/limiter-unavailable-error.js';
import type { OnUnavailable } from './redis-store-options.js';

/**
 * The outage policy for one operation a store could not send: under 'fail-closed' a
 * `LimiterUnavailableError` naming what was refused (`what`: the limiter, the budget), otherwise
 * the `onUnavailable` event, then `serve()` (fail-open's yes, or the local share's answer).
 */
export function degradeOperation<T, O extends string>(options: {
  readonly mode: OnUnavailable;
  readonly what: string;
  readonly operation: O;
  readonly timeoutMs: number;
  readonly keys: readonly string[];
  readonly error: unknown;
  readonly emit: (event: {
    operation: O;
    mode: Exclude<OnUnavailable, 'fail-closed'>;
    keys: readonly string[];
    error: unknown;
  }) => void;
  readonly serve: () => T;
}): T {
  const { mode, operation, error } = options;
  if (mode === 'fail-closed') {
    throw new LimiterUnavailableError(
      `Redis is unavailable to the ${options.what} (${operation}; no answer within ${options.timeoutMs} ms or a connection error); onUnavailable is 'fail-closed'`,
      { cause: error },
    );
  }
  options.emit({ operation, mode, keys: options.keys, error });
  return options.serve();
}

/**
 * ioredis's connection states in which a command is queued, not sent: `connect` too, where the
 * socket is up but the ready check (INFO) is unanswered, for as long as Redis loads its data.
 */
const RECONNECTING = new Set(['connecting', 'connect', 'reconnecting', 'close']);

/** Server replies that mean "not now" rather than a bug in the request. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|NOREPLICAS|OOM)\b/;

/**
 * Whether a failed Redis call means Redis is away (a connection error, a timeout, a transient
 * reply) rather than a bug in the request (any other reply error), which no mode may hide.
 */
export function isOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error.name !== 'ReplyError') return true;
  return TRANSIENT_REPLY.test(error.message);
}

/** `promise`, or a rejection once `timeoutMs` has passed without its answer. */
export function withTimeout<T>(
  promise: Promise<T>,
  operation: string,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Redis did not answer ${operation} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A Redis call's answer, or the outage that kept it (the store's outage policy decides). */
export type Sent = { readonly reply: unknown } | { readonly error: unknown };

/**
 * Sends `call()` unless the outage says Redis is away (then it only lets a check run). A failure
 * that means Redis is away starts or prolongs the outage and is returned; any other is thrown.
 */
export async function sendUnlessDown(
  outage: RedisOutage,
  call: () => Promise<unknown>,
): Promise<Sent> {
  // Redis answered and the keys served locally are re-entering it: after them, on Redis.
  if (outage.down && outage.reentering) await outage.reentering;
  if (outage.down) {
    outage.check();
    return { error: outage.lastError };
  }
  try {
    return { reply: await call() };
  } catch (error) {
    if (!isOutage(error)) throw error;
    outage.fail(error);
    return { error };
  }
}

export class RedisOutage {
  private downSince: number | undefined;
  private lastCheckAt = 0;
  private checking = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The error that started the outage, or that the latest check met. */
  lastError: unknown;
  /**
   * Set while a check that reached Redis re-enters the keys served locally; resolves once the
   * check is over (the outage ended, or went on).
   */
  reentering: Promise<void> | undefined;

  constructor(
    /** The store's client: its `status`, when it has one, says whether a probe can be sent. */
    private readonly client: object,
    private readonly recheckMs: number,
    /**
     * Looks for Redis (and readies the store to use it again); rejects while it is away. It
     * calls `reached()` once Redis answered, before re-entering what it served locally.
     */
    private readonly probe: (reached: () => void) => Promise<void>,
    private readonly onRecovered: (downForMs: number) => void,
  ) {}

  /** True from a failed operation until a check gets through. */
  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** An operation failed for want of Redis. */
  fail(error: unknown): void {
    this.lastError = error;
    this.lastCheckAt = performance.now();
    if (this.downSince === undefined) {
      this.downSince = performance.now();
      this.startTimer();
    }
  }

  /**
   * At most one check in flight, one per `recheckMs`; it never delays an operation. The timer's
   * ticks are `recheckMs` apart already (`due`): measured from the end of the last check, a tick
   * after a check that took a while would come short of `recheckMs` and be skipped.
   */
  check(due = false): void {
    if (this.checking || (!due && performance.now() - this.lastCheckAt < this.recheckMs)) return;
    // An ioredis client that is reconnecting, or connected but not ready, would only queue the
    // probe (its offline queue, for the whole outage when `maxRetriesPerRequest` is null): ask
    // once it says it is ready.
    if (isReconnecting(this.client)) return;
    this.checking = true;
    void this.run().finally(() => {
      this.checking = false;
      this.lastCheckAt = performance.now();
    });
  }

  private async run(): Promise<void> {
    let release: (() => void) | undefined;
    const reached = () => {
      this.reentering ??= new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    let back = false;
    try {
      await this.probe(reached);
      back = true;
    } catch (error) {
      this.lastError = error;
    }
    try {
      if (back) {
        const downForMs = performance.now() - (this.downSince ?? performance.now());
        this.downSince = undefined;
        clearInterval(this.timer);
        this.timer = undefined;
        this.onRecovered(downForMs);
      }
    } finally {
      // The operations that waited go on, to Redis when it is back (the store reset first).
      this.reentering = undefined;
      release?.();
    }
  }

  /**
   * Checks run on a timer too, not only when an operation comes: a store left idle through the
   * outage is back on Redis by its next call. Unref'd and holding this weakly: it keeps neither
   * the process nor a dropped store alive. (Not created inside an async function: a closure
   * there keeps the async call's state alive, the store included.)
   */
  private startTimer(): void {
    const outage = new WeakRef(this);
    const timer = setInterval(() => {
      const self = outage.deref();
      if (self) self.check(true);
      else clearInterval(timer);
    }, this.recheckMs);
    timer.unref?.();
    this.timer = timer;
  }
}

function isReconnecting(client: object): boolean {
  const { status } = client as { status?: unknown };
  return typeof status === 'string' && RECONNECTING.has(status);
}
