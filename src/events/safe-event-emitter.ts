import { EventEmitter } from 'cockatiel';

/**
 * cockatiel's `EventEmitter` (so our events are the same `Event<T>` type as cockatiel's), except
 * that a listener that throws cannot break the operation that emitted: the error is reported as
 * a process warning and the other listeners still run.
 */
export class SafeEventEmitter<T> extends EventEmitter<T> {
  override emit(value: T): void {
    const listeners = this.listeners;
    if (!listeners) return;
    const list = typeof listeners === 'function' ? [listeners] : [...listeners];
    for (const listener of list) {
      try {
        listener(value);
      } catch (error) {
        reportError('an event listener threw', error);
      }
    }
  }
}

/**
 * Reports an error that must not fail the operation in progress (a listener that threw, a
 * settle that could not be stored) as a process warning: visible, but never thrown.
 */
export function reportError(what: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.emitWarning(`llm-resilience: ${what}: ${detail}`, 'LlmResilienceWarning');
}
