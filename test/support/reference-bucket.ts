/**
 * A provider's rate-limit bucket as the providers document it, written apart from the library's
 * limiter code so that tests can hold the limiter to it: `limit` units per `periodMs`, refilled
 * continuously up to `capacity`; a request is charged when it arrives and refused if the bucket
 * holds less than its cost; at the end the unused part is credited (never above capacity) or the
 * overshoot charged, at that moment. Floating point, in units and ms.
 */
export class ReferenceBucket {
  private level: number;
  private at: number;

  constructor(
    readonly limit: number,
    readonly periodMs: number,
    readonly capacity: number,
    startMs: number,
  ) {
    this.level = capacity;
    this.at = startMs;
  }

  /** Units the bucket holds at `nowMs`. */
  levelAt(nowMs: number): number {
    this.refill(nowMs);
    return this.level;
  }

  /** Whether a request of `cost` arriving at `nowMs` would be admitted (with `slack` units of tolerance). */
  admits(nowMs: number, cost: number, slack = 0): boolean {
    return this.levelAt(nowMs) + slack >= cost;
  }

  /** Charges a request at its arrival. */
  charge(nowMs: number, cost: number): void {
    this.refill(nowMs);
    this.level -= cost;
  }

  /** Settles a request: credits `reserved - actual` (capped at capacity) or charges the excess. */
  settle(nowMs: number, reserved: number, actual: number): void {
    this.refill(nowMs);
    this.level = Math.min(this.capacity, this.level + reserved - actual);
  }

  /** Units the bucket refills per ms. */
  get perMs(): number {
    return this.limit / this.periodMs;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.at) {
      this.level = Math.min(this.capacity, this.level + (nowMs - this.at) * this.perMs);
      this.at = nowMs;
    }
  }
}
