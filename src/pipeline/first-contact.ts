/**
 * Until the provider has answered one request of a budget, the budget's other calls wait for that
 * answer. A cold process (module loading, a new connection) can take a second or more to get its
 * first requests out while the provider's bucket, full, wastes that refill; a burst granted
 * meanwhile would arrive late and all at once, sized by limits nobody has confirmed (a tier
 * configured at twice the real one meets a bucket half the size). One request pays that delay and
 * brings back the provider's headers, and the output it really wrote; the rest go out informed.
 * One round trip, like TCP's slow start.
 *
 * On a store shared by several workers (Redis) the probe is one for all of them: the first worker
 * takes a lease, the others wait for the answer it publishes (or for the lease to run out, when
 * they ask again: a worker that died while probing costs a lease, not a hang). The answer carries
 * what it taught: a quota stop (a spend cap costs the whole fleet one refused request), the
 * provider's limits (a wrong tier is corrected before the fleet's first burst) and the output
 * written (the first estimate of output counted as generated).
 */
import type { ContactNotice, SharedContact } from '../limiter/budget-store.js';

/** setTimeout's longest delay; a longer wait is no wait limit at all. */
const MAX_TIMER_MS = 2_147_483_647;

/** How long one worker's probe keeps the others waiting before they ask again, in ms. */
export const PROBE_LEASE_MS = 3_000;

export interface FirstContactOptions {
  /** The store's shared contact and the budget's name in it (absent: this process only). */
  readonly shared?: { readonly contact: SharedContact; readonly name: string };
  /** What another worker's answer taught (a quota stop, the provider's limits, an output). */
  readonly onNotice?: (notice: ContactNotice) => void;
}

export class FirstContact {
  private state: 'none' | 'asking' | 'probing' | 'open' = 'none';
  /** While probing: a call of this process is out as the probe. */
  private probeOut = false;
  private readonly waiting: (() => void)[] = [];
  private unlisten: (() => void) | undefined;
  /** The notice that opened contact (the later-news listener hears the same one). */
  private lastHeard: ContactNotice | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: FirstContactOptions = {}) {
    const shared = options.shared;
    // Later notices (a quota stop, an adaptive cut) are heard while this process has callers
    // waiting on the budget, when they matter, without a connection of their own.
    shared?.contact.onMade(
      shared.name,
      (notice) => {
        if (this.state === 'open' && notice !== this.lastHeard) options.onNotice?.(notice);
      },
      true,
    );
  }

  /** Whether the provider has answered (here or, on a shared store, to any worker). */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /**
   * Resolves when this request may go: at once for the probe and once contact is made, or after
   * `maxWaitMs` (a slow first answer, a long generation, must not hold the others longer than
   * they agreed to wait: they go on to the budget, which still paces them). `undefined`: go now.
   */
  enter(signal: AbortSignal | undefined, maxWaitMs: number): Promise<void> | undefined {
    if (this.state === 'open') return undefined;
    if (this.state === 'none') {
      if (!this.options.shared) this.state = 'probing';
      else {
        this.state = 'asking';
        this.ask();
      }
    }
    if (this.state === 'probing' && !this.probeOut) {
      this.probeOut = true;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const leave = () => {
        const at = this.waiting.indexOf(go);
        if (at >= 0) this.waiting.splice(at, 1);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        reject(signal?.reason);
      };
      const go = () => {
        leave();
        resolve();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(go);
      if (maxWaitMs <= MAX_TIMER_MS) timer = setTimeout(go, Math.max(0, maxWaitMs));
    });
  }

  /**
   * The provider answered (any status), or the probe ended otherwise: let everyone through, and
   * tell the other workers (with a quota stop, when the answer was one).
   */
  made(notice: ContactNotice = {}): void {
    const shared = this.options.shared;
    const wasOpen = this.state === 'open';
    this.open();
    // Every worker tells its first answer (the others may have started before it came); later
    // answers only a quota stop or an adaptive cut.
    const news = notice.stoppedUntil !== undefined || notice.cutAt !== undefined;
    if (shared && (!wasOpen || news)) {
      shared.contact.made(shared.name, notice).catch(() => undefined);
    }
  }

  /**
   * A call ended without an answer from the provider (refused by the budget, aborted, a network
   * error): if it was the probe, the next waiting caller probes instead.
   */
  passOn(): void {
    if (this.state !== 'probing') return;
    this.probeOut = false;
    this.releaseProbe();
  }

  /** The first waiting caller goes as the probe (the next caller does, when none waits). */
  private releaseProbe(): void {
    const next = this.waiting[0];
    if (!next) return;
    this.probeOut = true;
    next();
  }

  /** Asks the shared store: open, this worker probes, or another does (then listen, ask again). */
  private ask(): void {
    const { contact, name } = this.options.shared!;
    this.unlisten ??= contact.onMade(name, (notice) => this.heard(notice));
    contact.enter(name, PROBE_LEASE_MS).then(
      (answer) => {
        if (this.state !== 'asking') return;
        if (answer.contact === 'open') return this.heard(answer);
        if (answer.contact === 'probe') {
          this.state = 'probing';
          this.releaseProbe();
          return;
        }
        // Another worker probes: its answer comes by message; if it never does, ask again.
        this.retry = setTimeout(() => {
          this.retry = undefined;
          if (this.state === 'asking') this.ask();
        }, PROBE_LEASE_MS);
      },
      () => {
        // The store cannot say: this process makes its own contact.
        if (this.state !== 'asking') return;
        this.state = 'probing';
        this.releaseProbe();
      },
    );
  }

  /** Another worker's answer (or the store's record of one). */
  private heard(notice: ContactNotice): void {
    this.lastHeard = notice;
    this.options.onNotice?.(notice);
    this.open();
  }

  private open(): void {
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
    if (this.state === 'open') return;
    this.state = 'open';
    for (const go of [...this.waiting]) go();
  }
}
