/**
 * Ties the SDK's `fetch` calls to the `execute` around them: `execute` runs each attempt inside
 * an AsyncLocalStorage context, and the policy's `fetch` reads it to follow the caller's abort
 * and to report that the request was seen.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface AttemptContext {
  /** Aborts when the caller aborts or the attempt's time is up. */
  readonly signal: AbortSignal;
  /** Requests the policy's fetch saw during this attempt. */
  requests: number;
  /**
   * An error the policy's own stages raised inside `fetch` (budget wait too long, bulkhead full,
   * abort). The SDK wraps whatever its fetch throws as a connection error; `execute` rethrows
   * this instead, so the breaker and the retry see what really happened.
   */
  stageError?: unknown;
  /**
   * Set when the response is a stream: settles when the stream ends, rejecting when it broke
   * after its first event. The breaker waits for it, so a stream counts by how it ended.
   */
  streamEnd?: Promise<void>;
}

export const attemptContext = new AsyncLocalStorage<AttemptContext>();

/** A signal that aborts when any of `signals` does (undefined ones ignored). */
export function anySignal(...signals: (AbortSignal | undefined | null)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s != null);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return AbortSignal.any(present);
}
