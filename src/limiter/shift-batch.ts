/**
 * The shifts of one key that arrived since the waiters last re-planned, applied to all of them in
 * one pass. Applied one by one, K shifts cost K passes over N waiters: one abort giving back
 * 10,000 reservations made 10,000 shifts, each re-planning every waiter left (seconds). Summed
 * first, each waiter costs O(log K).
 *
 * A waiter applies only the shifts newer than its plan, in order, without a gap (budget.ts). The
 * shifts are cut into runs of consecutive versions; a run's sum is a function of the ticket's
 * number (`all`, plus the `before` adds of the tickets numbered above it and the `after` adds of
 * those below it), read by binary search.
 */
import { type QueueShift, shiftedStart } from './bucket-queue.js';

/** What a batch does to one plan. */
export type BatchOutcome =
  /** No shift of the batch is newer than the plan. */
  | { readonly kind: 'none' }
  /** The plan moves by `addUs` and stands at `version`. */
  | { readonly kind: 'moved'; readonly addUs: number; readonly version: number }
  /** A shift the plan needed is missing: ask the store. */
  | { readonly kind: 'stale' };

const NONE: BatchOutcome = { kind: 'none' };
const STALE: BatchOutcome = { kind: 'stale' };

/** Consecutive versions `first`..`first + shifts.length - 1`, summed. */
interface Run {
  readonly first: number;
  readonly shifts: readonly QueueShift[];
  readonly all: number;
  /** `before` seqs ascending, with the sum of the adds from each one to the end. */
  readonly beforeSeqs: readonly number[];
  readonly beforeFrom: readonly number[];
  /** `after` seqs ascending, with the sum of the adds up to and including each one. */
  readonly afterSeqs: readonly number[];
  readonly afterUpTo: readonly number[];
}

export class ShiftBatch {
  private readonly runs: Run[] = [];

  constructor(shifts: readonly QueueShift[]) {
    let start = 0;
    for (let i = 1; i <= shifts.length; i++) {
      if (i === shifts.length || shifts[i]!.version !== shifts[i - 1]!.version + 1) {
        this.runs.push(summed(shifts.slice(start, i)));
        start = i;
      }
    }
  }

  /** Applies the batch to a plan of ticket `seq` standing at `version`. */
  apply(seq: number, version: number): BatchOutcome {
    let v = version;
    let addUs = 0;
    for (const run of this.runs) {
      const last = run.first + run.shifts.length - 1;
      if (v >= last) continue;
      if (v < run.first - 1) return STALE;
      if (v === run.first - 1) {
        addUs += run.all + fromBefores(run, seq) + upToAfters(run, seq);
      } else {
        // Part of the run is older than the plan: the rest one by one (rare: a plan answered
        // while the run arrived).
        for (let i = v - run.first + 1; i < run.shifts.length; i++) {
          addUs = shiftedStart(addUs, seq, run.shifts[i]!);
        }
      }
      v = last;
    }
    return v === version ? NONE : { kind: 'moved', addUs, version: v };
  }
}

function summed(shifts: readonly QueueShift[]): Run {
  let all = 0;
  const befores: { seq: number; add: number }[] = [];
  const afters: { seq: number; add: number }[] = [];
  for (const s of shifts) {
    all += s.all;
    if (s.before) befores.push(s.before);
    if (s.after) afters.push(s.after);
  }
  befores.sort((a, b) => a.seq - b.seq);
  afters.sort((a, b) => a.seq - b.seq);
  const beforeFrom = new Array<number>(befores.length);
  for (let i = befores.length - 1, acc = 0; i >= 0; i--) {
    acc += befores[i]!.add;
    beforeFrom[i] = acc;
  }
  const afterUpTo = new Array<number>(afters.length);
  for (let i = 0, acc = 0; i < afters.length; i++) {
    acc += afters[i]!.add;
    afterUpTo[i] = acc;
  }
  return {
    first: shifts[0]!.version,
    shifts,
    all,
    beforeSeqs: befores.map((b) => b.seq),
    beforeFrom,
    afterSeqs: afters.map((a) => a.seq),
    afterUpTo,
  };
}

/** Sum of the `before` adds of the shifts whose seq is above `seq`. */
function fromBefores(run: Run, seq: number): number {
  const i = firstAbove(run.beforeSeqs, seq);
  return i < run.beforeSeqs.length ? run.beforeFrom[i]! : 0;
}

/** Sum of the `after` adds of the shifts whose seq is below `seq`. */
function upToAfters(run: Run, seq: number): number {
  const i = firstAtOrAbove(run.afterSeqs, seq);
  return i > 0 ? run.afterUpTo[i - 1]! : 0;
}

/** Index of the first element above `x` in an ascending array (its length when none). */
function firstAbove(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Index of the first element at or above `x` in an ascending array (its length when none). */
function firstAtOrAbove(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! >= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
