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
   */
  async settle(
    actual: readonly number[],
    remaining?: readonly (number | undefined)[],
  ): Promise<void> {
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
    if (!this.open) return;
    this.open = false;
    const deltas = dimensions.map((d, i) => {
      // In the rate's units (a power of ten of the caller's for very large limits).
      const diff = rateUnits(d, actual[i]!) - rateUnits(d, this.costs[i]!);
      // A credit rounds down and a charge up: rounding never lets more through than the limit.
      return diff < 0 ? -floorCostUs(d.rate, -diff) : diff > 0 ? costUs(d.rate, diff) : 0;
    });
    const leftUs = remaining && dimensions.map((_, i) => this.budget.leftUs(i, remaining[i]));
    if (deltas.every((d) => d === 0) && !leftUs?.some((l) => l >= 0)) return;
    await this.budget.store.adjust(this.budget.specs, deltas, this.budget.nowUs(), leftUs);
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
