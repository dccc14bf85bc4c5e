import { EventEmitter } from 'cockatiel';

/**
 * cockatiel's `EventEmitter` (so events are cockatiel `Event<T>` functions returning a
 * disposable), except that a listener that throws never breaks the caller: the error is
 * swallowed and the remaining listeners still run. Events are for observation; they must never
 * change the outcome of `execute()`.
 */
export class SafeEventEmitter<T> extends EventEmitter<T> {
  override emit(value: T): void {
    const listeners = this.listeners;
    if (!listeners) return;
    const list = typeof listeners === 'function' ? [listeners] : [...listeners];
    for (const listener of list) {
      try {
        listener(value);
      } catch {
        // A broken listener must not break the call it observes.
      }
    }
  }
}
