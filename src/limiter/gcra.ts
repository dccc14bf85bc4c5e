/**
 * GCRA (generic cell rate algorithm) as pure functions of (state, now, cost). No clock, no I/O:
 * the stores call these, and `lua/gcra.lua` mirrors them line for line.
 *
 * All times are integer microseconds; costs are already converted to µs of schedule
 * (`costUs` in rate.ts). The theoretical arrival time `tat` is the end of the schedule: a unit
 * costing `c` µs may start at `start` iff max(tat, start) + c - start <= capacity.
 */

export interface GcraState {
  /** Theoretical arrival time: where the schedule ends (µs). 0 = never used. */
  readonly tat: number;
  /** Sequence number of the latest grant; a permit whose seq matches is the tail. */
  readonly seq: number;
  /** Start time of the latest grant that had to wait (µs); while it is in the future, a queue exists. */
  readonly queueUntil: number;
}

export const initialGcraState: GcraState = { tat: 0, seq: 0, queueUntil: 0 };

/** µs until a charge of `costUs` could start (0 = at once). */
export function gcraWait(
  state: GcraState,
  nowUs: number,
  costUs: number,
  capacityUs: number,
): number {
  return Math.max(0, Math.max(state.tat, nowUs) + costUs - capacityUs - nowUs);
}

/**
 * Grants `costUs` starting at `startUs`. The caller guarantees startUs >= nowUs + gcraWait(...);
 * a group passes the longest wait of its members, so every member is charged at the moment the
 * call really starts.
 */
export function gcraGrant(
  state: GcraState,
  nowUs: number,
  startUs: number,
  costUs: number,
): GcraState {
  return {
    tat: Math.max(state.tat, startUs) + costUs,
    seq: nextSeq(state.seq, nowUs),
    queueUntil: startUs > nowUs ? Math.max(state.queueUntil, startUs) : state.queueUntil,
  };
}

/**
 * Next grant number. A fresh key (seq 0: never used, or expired) starts from the clock, so a
 * permit from before the key expired can never be taken for the latest grant of its new life.
 */
export function nextSeq(seq: number, nowUs: number): number {
  return (seq === 0 ? nowUs : seq) + 1;
}

/**
 * Gives back `refundUs` of a grant (a cancelled reservation or a settle below the reserved cost).
 *
 * - The latest grant (its `seq` is the state's) is undone exactly: the next caller gets its slot.
 * - Otherwise, while a queue exists (a granted start still in the future) nothing is given back:
 *   the queued slots are promised, and moving the end of the schedule back would let a newcomer
 *   start on top of them. Once every start is past, the refund is credited up to a full bucket.
 *
 * This keeps the conformance bound with every call counted at its settled cost.
 */
export function gcraRefund(
  state: GcraState,
  nowUs: number,
  refundUs: number,
  grantSeq: number,
): GcraState {
  if (grantSeq === state.seq) {
    return { ...state, tat: Math.max(state.tat - refundUs, 0) };
  }
  if (state.queueUntil > nowUs) return state;
  return { ...state, tat: Math.max(state.tat - refundUs, nowUs) };
}

/** Charges `extraUs` more than was reserved (a settle above the reservation): debt later waits repay. */
export function gcraCharge(state: GcraState, nowUs: number, extraUs: number): GcraState {
  return { ...state, tat: Math.max(state.tat, nowUs) + extraUs };
}

/**
 * Pushes the schedule so that no grant starts before `untilUs`, and the bucket refills from empty
 * from then on (what a provider's 429 with Retry-After asks for, without a storm at `untilUs`).
 */
export function gcraHold(state: GcraState, untilUs: number, capacityUs: number): GcraState {
  return { ...state, tat: Math.max(state.tat, untilUs + capacityUs) };
}

/** µs of schedule still free at `nowUs` (negative when reservations run ahead). */
export function gcraFreeUs(state: GcraState, nowUs: number, capacityUs: number): number {
  return capacityUs - Math.max(0, state.tat - nowUs);
}
