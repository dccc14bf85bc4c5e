import { type Clock, scheduleOn } from '../clock.js';

interface Waiter {
  readonly atMs: number;
  readonly order: number;
  readonly resolve: () => void;
  done: boolean;
}

/**
 * Wakes callers at their reserved times with one timer for the whole queue (armed for the
 * earliest waiter), instead of one timer per waiter. Never wakes anyone early: a timer that
 * fires before the head's time (platform timers are ms-granular) is re-armed for the rest.
 */
export class WakeQueue {
  private heap: Waiter[] = [];
  private order = 0;
  private armedAt = Number.POSITIVE_INFINITY;
  private disarm: (() => void) | undefined;

  constructor(private readonly clock: Clock) {}

  /** Number of callers waiting. */
  get size(): number {
    return this.heap.reduce((n, w) => n + (w.done ? 0 : 1), 0);
  }

  /**
   * Resolves at `atMs` on the clock; rejects with the abort reason the moment `signal` aborts.
   */
  waitUntil(atMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (atMs <= this.clock.now()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        waiter.done = true;
        reject(signal?.reason);
        if (this.heap[0] === waiter) this.fire();
      };
      const waiter: Waiter = {
        atMs,
        order: this.order++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        done: false,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.push(waiter);
      if (atMs < this.armedAt) this.arm();
    });
  }

  private fire = (): void => {
    this.disarm?.();
    this.disarm = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    for (;;) {
      const head = this.heap[0];
      if (!head || (!head.done && head.atMs > now)) break;
      this.pop();
      if (!head.done) {
        head.done = true;
        head.resolve();
      }
    }
    this.arm();
  };

  private arm(): void {
    this.disarm?.();
    this.disarm = undefined;
    const head = this.heap[0];
    if (!head) {
      this.armedAt = Number.POSITIVE_INFINITY;
      return;
    }
    this.armedAt = head.atMs;
    // Platform timers are ms-granular and may fire a fraction early: `fire` re-arms for the rest.
    this.disarm = scheduleOn(this.clock, this.fire, Math.max(0, head.atMs - this.clock.now()));
  }

  private push(w: Waiter): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Waiter, b: Waiter): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}
