import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import type { Cost, LimiterMember } from './acquirer.js';
import { costUs } from './rate.js';
import type { Grant } from './store.js';

/** A reservation that was granted. Settle or cancel it at most once; later calls do nothing. */
export class Permit {
  private open = true;

  /** @internal */
  constructor(
    private readonly members: readonly LimiterMember[],
    private readonly grants: readonly Grant[],
    /** Costs reserved, one per limiter. */
    readonly costs: readonly number[],
    /** ms the caller was told to wait for its slot. */
    readonly waitedMs: number,
    /** Clock time (ms) at which the slot starts. */
    readonly startsAt: number,
    /** Key of the limiter that set the wait (the first one when none waited). */
    readonly bindingKey: string,
  ) {}

  /**
   * Replaces the reserved cost with the real one once known (for example output tokens from the
   * response's usage): refunds or charges the difference. A number applies to every limiter.
   */
  async settle(actual: Cost): Promise<void> {
    const actuals = normaliseCosts(actual, this.members.length, (expected, received) => {
      return new InvalidArgumentError('actual', expected, received, 'permit.settle()');
    });
    if (!this.open) return;
    this.open = false;
    await Promise.all(
      this.members.map((limiter, i) => {
        const grant = this.grants[i]!;
        const delta = costUs(limiter.rate, actuals[i]!) - grant.costUs;
        if (delta < 0) return limiter.store.refund(limiter.spec, grant, -delta, limiter.nowUs());
        if (delta > 0) return limiter.store.charge(limiter.spec, delta, limiter.nowUs());
        return undefined;
      }),
    );
  }

  /** Gives the whole reservation back (the call was not made). */
  async cancel(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await Promise.all(
      this.members.map((limiter, i) => {
        const grant = this.grants[i]!;
        // The whole span: in a group that waited on another member, this member's schedule
        // moved by more than the cost, and nothing ran.
        return limiter.store.refund(limiter.spec, grant, grant.spanUs, limiter.nowUs());
      }),
    );
  }
}

/**
 * One cost per member: a number applies to every member. Refuses anything but integers >= 0,
 * with the error `refuse` makes (an argument of a call, or a policy's option).
 */
export function normaliseCosts(
  cost: Cost,
  members: number,
  refuse: (expected: string, received: unknown) => Error,
): number[] {
  if (typeof cost !== 'number' && !Array.isArray(cost)) {
    throw refuse('a number, or an array of one number per limiter', cost);
  }
  const costs =
    typeof cost !== 'number'
      ? [...cost]
      : members === 1
        ? [cost]
        : new Array<number>(members).fill(cost);
  if (costs.length !== members) {
    throw refuse(`one cost per limiter (${members})`, costs.length);
  }
  for (const c of costs) {
    if (!Number.isSafeInteger(c) || c < 0) throw refuse('a non-negative integer', c);
  }
  return costs;
}
