import type { Clock } from '../clock.js';

interface PendingTimer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock that moves only when told to. Timers scheduled on it fire, in time order, while
 * `advance()` moves past them, with pending promise callbacks flushed between timers so that
 * `await` chains resume as they would on a real clock.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  /** @param startMs initial time in ms since the epoch (default 1,700,000,000,000). */
  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  schedule(callback: () => void, delayMs: number): () => void {
    const timer: PendingTimer = {
      at: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
    };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  /** Moves time to `targetMs` (never backwards), firing due timers in order. */
  async advanceTo(targetMs: number): Promise<void> {
    await flushMicrotasks();
    for (;;) {
      const next = this.nextDue(targetMs);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.at);
      next.callback();
      await flushMicrotasks();
    }
    this.current = Math.max(this.current, targetMs);
    await flushMicrotasks();
  }

  /** Sets the time without firing timers (to model a clock step); use with care. */
  set(ms: number): void {
    this.current = ms;
  }

  private nextDue(targetMs: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.at > targetMs) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
