import { InvalidLimiterConfigError } from '../errors/invalid-limiter-config-error.js';
import type { Budget } from './budget.js';
import type { TicketPlan } from './budget-store.js';
import { costUs, floorDiv, type Rate, rateUnits } from './rate.js';

/**
 * A budget reservation that has started. Settle it once with the real costs (from the response's
 * usage), or cancel it if the call was never made; later calls do nothing.
 */
export class BudgetPermit {
  private open = true;
  private startedAtMs = Number.NaN;
  /** µs of arrival lag each dimension's start was charged, and when that start was asked (µs). */
  private lag: { readonly lagsUs: readonly number[]; readonly askedUs: number } | undefined;

  /** @internal */
  constructor(
    private readonly budget: Budget,
    private readonly plans: readonly TicketPlan[],
    /** Units reserved, one per dimension. */
    readonly costs: readonly number[],
    private readonly costsUs: readonly number[],
    /** Clock time (ms) the reservation was asked for. */
    readonly askedAt: number,
  ) {}

  /** @internal marks the start */
  started(atMs: number): this {
    this.startedAtMs = atMs;
    return this;
  }

  /**
   * @internal what the store charged for arrival lag (per dimension, µs) at the start it was
   * asked for at `askedUs` (the budget's clock)
   */
  chargedLag(lagsUs: readonly number[] | undefined, askedUs: number): void {
    if (lagsUs?.some((l) => l > 0)) this.lag = { lagsUs, askedUs };
  }

  /** Clock time (ms) the call was let through. */
  get startedAt(): number {
    return this.startedAtMs;
  }

  /** ms the caller waited for its start. */
  get waitedMs(): number {
    return Math.max(0, this.startedAtMs - this.askedAt);
  }

  /** Whether it waited in the queue (else it started when the store answered). */
  get queued(): boolean {
    return this.plans.some((p) => p.queued);
  }

  /** Whether neither settle nor cancel has been called. */
  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Replaces the reserved costs with the real ones, at this moment, as the provider's bucket does:
   * what was not used is credited (and moves waiting callers forward), what was used beyond the
   * reservation is charged. `remaining`, per dimension where the provider said (its rate-limit
   * headers, read with this answer), then brings the budget down to it as `Budget.lowerTo` does,
   * in the same store operation.
   *
   * `answeredAtMs` (the budget's clock): when the provider's answer to the request came (its
   * headers). The request had reached the provider by then, so of the arrival lag its start was
   * charged (`arrivalLagMs`, on a full bucket) the part after that moment was never lost, and is
   * credited back.
   *
   * The budget comes down to `remaining` less what others are estimated to spend before the next
   * figure (the estimate lives with the key, fed by every figure: bucket-queue.ts `lowerTo`).
   * Resolves to that estimate in units, per dimension where `remaining` was given; undefined
   * when nothing was told.
   */
  async settle(
    actual: readonly number[],
    remaining?: readonly (number | undefined)[],
    answeredAtMs?: number,
  ): Promise<readonly (number | undefined)[] | undefined> {
    const { dimensions } = this.budget;
    if (!Array.isArray(actual) || actual.length !== dimensions.length) {
      throw new InvalidLimiterConfigError(
        'actual',
        `one cost per dimension (${dimensions.length})`,
        Array.isArray(actual) ? actual.length : actual,
      );
    }
    for (const c of actual) {
      if (!Number.isSafeInteger(c) || c < 0) {
        throw new InvalidLimiterConfigError('actual', 'non-negative integers', c);
      }
    }
    if (!this.open) return undefined;
    this.open = false;
    const deltas = dimensions.map((d, i) => {
      // In the rate's units (a power of ten of the caller's for very large limits).
      const diff = rateUnits(d, actual[i]!) - rateUnits(d, this.costs[i]!);
      // A credit rounds down and a charge up: rounding never lets more through than the limit.
      const delta = diff < 0 ? -floorCostUs(d.rate, -diff) : diff > 0 ? costUs(d.rate, diff) : 0;
      return delta - this.lagNotLostUs(i, answeredAtMs);
    });
    const leftUs = remaining && dimensions.map((_, i) => this.budget.leftUs(i, remaining[i]));
    if (deltas.every((d) => d === 0) && !leftUs?.some((l) => l >= 0)) return undefined;
    const outsideUs = await this.budget.store.adjust(
      this.budget.specs,
      deltas,
      this.budget.nowUs(),
      leftUs,
    );
    if (!outsideUs || !leftUs) return undefined;
    return leftUs.map((l, i) => (l < 0 ? undefined : this.budget.unitsOfUs(i, outsideUs[i]!)));
  }

  /**
   * µs of dimension `index`'s arrival-lag charge that an answer at `answeredAtMs` proves was not
   * lost. The start was charged as if the request arrived `lagUs` after it; it arrived before the
   * answer, which came `answeredAtMs - askedUs` after the start was asked for, at the latest (the
   * store's start lies between the two).
   */
  private lagNotLostUs(index: number, answeredAtMs: number | undefined): number {
    const charged = this.lag?.lagsUs[index] ?? 0;
    if (charged <= 0 || answeredAtMs === undefined || !Number.isFinite(answeredAtMs)) return 0;
    const tookUs = Math.ceil(answeredAtMs * 1000) - this.lag!.askedUs;
    return Math.max(0, Math.min(charged, this.budget.specs[index]!.lagUs - tookUs));
  }

  /** Gives the whole reservation back (the call was not made). */
  async cancel(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.budget.store.cancel(
      this.budget.specs,
      this.plans.map((p) => p.seq),
      this.costsUs,
      this.budget.nowUs(),
    );
  }
}

/** µs of schedule that `cost` units occupy, rounded down. */
function floorCostUs(rate: Rate, cost: number): number {
  return cost * rate.quotientUs + floorDiv(cost * rate.remainderUs, rate.limit);
}
