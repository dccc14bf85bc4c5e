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

function reportListenerError(error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.emitWarning(`llm-resilience: an event listener threw: ${detail}`, 'ListenerError');
}
