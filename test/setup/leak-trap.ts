/**
 * Setup file of the whole suite (vitest.config.ts `setupFiles`): a process-wide trap for
 * `unhandledRejection` and `uncaughtException`. Whatever leaks one fails the test that is running
 * when the next `afterEach` comes (or the file's `afterAll`, for a leak after the last test),
 * naming the error; a library whose promise nobody awaits is a bug to fix, not noise.
 */
import { afterAll, afterEach } from 'vitest';

export interface Leak {
  readonly kind: 'unhandledRejection' | 'uncaughtException';
  readonly error: unknown;
}

const leaks: Leak[] = [];

/** The trap's listener (exported so a test can check it is installed and feed it). */
export function recordLeak(kind: Leak['kind'], error: unknown): void {
  leaks.push({ kind, error });
}

/** The leaks recorded so far, removed from the trap. */
export function takeLeaks(): Leak[] {
  return leaks.splice(0);
}

export const onUnhandledRejection = (reason: unknown) => recordLeak('unhandledRejection', reason);
export const onUncaughtException = (error: unknown) => recordLeak('uncaughtException', error);

// One pair of listeners per worker process, however many files it runs.
const installed = Symbol.for('llm-resilience.leak-trap');
const host = process as unknown as Record<symbol, boolean>;
if (!host[installed]) {
  host[installed] = true;
  process.on('unhandledRejection', onUnhandledRejection);
  process.on('uncaughtException', onUncaughtException);
}

function failOnLeaks(): void {
  const found = takeLeaks();
  if (found.length === 0) return;
  const described = found.map(({ kind, error }) => {
    const text =
      error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    return `${kind}: ${text}`;
  });
  throw new Error(`Leaked ${found.length} unhandled error(s):\n${described.join('\n')}`);
}

afterEach(failOnLeaks);
afterAll(failOnLeaks);
