/**
 * What to reserve for output where the provider counts output as it is generated (Anthropic
 * since 2026) rather than `max_tokens` at the start: a high quantile of this budget's recent
 * outputs, capped by the request's `max_tokens`. Before any call has been seen it reserves
 * `max_tokens`, which every provider tolerates; until `warmUp` calls, twice the largest output
 * seen. The settle corrects either way.
 */
/** Before `warmUp` outputs, the reservation is this many times the largest seen. */
const WARM_UP_HEADROOM = 2;

export class OutputEstimate {
  private readonly recent: number[] = [];
  private next = 0;

  constructor(
    /** Outputs remembered. */
    private readonly window = 64,
    /** Outputs seen before the estimate replaces `max_tokens`. */
    private readonly warmUp = 8,
    /** Quantile reserved (0.9: nine calls in ten need no overshoot charge). */
    private readonly quantile = 0.9,
  ) {}

  /** Records a completed call's output tokens. */
  observe(outputTokens: number): void {
    if (!Number.isFinite(outputTokens) || outputTokens < 0) return;
    if (this.recent.length < this.window) this.recent.push(outputTokens);
    else this.recent[this.next] = outputTokens;
    this.next = (this.next + 1) % this.window;
  }

  /** Output tokens to reserve for a call allowed `maxTokens`. */
  reserve(maxTokens: number): number {
    if (this.recent.length === 0) return maxTokens;
    let q: number;
    if (this.recent.length < this.warmUp) {
      // Too few outputs for a quantile: twice the largest seen. `max_tokens` for every call until
      // then would let a cold budget's first calls hold the whole bucket (128 calls at 4096 of a
      // 10,000-token bucket queue for 50 s of refill, settling back most of it).
      q = WARM_UP_HEADROOM * Math.max(...this.recent);
    } else {
      const sorted = [...this.recent].sort((a, b) => a - b);
      q = sorted[Math.min(sorted.length - 1, Math.floor(this.quantile * sorted.length))]!;
    }
    return Math.min(maxTokens, Math.max(1, Math.ceil(q)));
  }

  /** Outputs seen (up to the window). */
  get samples(): number {
    return this.recent.length;
  }
}
