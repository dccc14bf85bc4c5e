/**
 * Time source for every policy and limiter. Inject a `ManualClock` (from
 * `llm-resilience/testing`) to test time-dependent behaviour without sleeping.
 */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch; may be fractional. */
  now(): number;
  /**
   * Runs `callback` once `delayMs` have passed on this clock and returns a function that cancels
   * it. Optional: clocks without it are served by the platform's `setTimeout`.
   */
  schedule?(callback: () => void, delayMs: number): () => void;
}

/**
 * The process clock: the wall-clock epoch at start-up plus a monotonic offset, so it never steps
 * backwards when NTP adjusts the system time.
 */
const origin = performance.timeOrigin; // a getter: read once
// Node defines the global `performance` as a lazy accessor that a write replaces by a plain value
// (WebIDL's [Replaceable]); the write below stores the same object, so that the read on every
// call is a property load, not a getter's call (a tenth of a `tryAcquire`).
replaceAccessor(globalThis, 'performance');
// `performance` itself is read on every call, though Node defines the global by a getter: fake
// timers (vi.useFakeTimers(), @sinonjs/fake-timers) replace it, and this clock follows them.
export const systemClock: Clock = {
  now: () => origin + performance.now(),
};

/** Longest delay a platform timer holds; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Schedules `callback` on `clock`, falling back to the platform timer (which keeps the process alive while callers wait). */
export function scheduleOn(clock: Clock, callback: () => void, delayMs: number): () => void {
  if (clock.schedule) return clock.schedule(callback, delayMs);
  if (delayMs > MAX_TIMER_MS) {
    // A long hold or a slow limit can ask for more than 24.8 days: wait in parts.
    let cancelRest: (() => void) | undefined;
    const timer = setTimeout(() => {
      cancelRest = scheduleOn(clock, callback, delayMs - MAX_TIMER_MS);
    }, MAX_TIMER_MS);
    return () => {
      clearTimeout(timer);
      cancelRest?.();
    };
  }
  const timer = setTimeout(callback, Math.max(0, delayMs));
  return () => clearTimeout(timer);
}

/**
 * Resolves after `delayMs` on `clock`; rejects at once with the signal's reason when `signal`
 * aborts (before or during the wait). Never leaves a timer behind.
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (delayMs <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = scheduleOn(
      clock,
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      delayMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Turns a replaceable global accessor into a data property holding the same value. */
function replaceAccessor(target: typeof globalThis, name: 'performance'): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, name);
  if (descriptor?.get && descriptor.set && descriptor.configurable) {
    Object.defineProperty(target, name, {
      value: descriptor.get.call(target),
      writable: true,
      enumerable: descriptor.enumerable ?? true,
      configurable: true,
    });
  }
}
