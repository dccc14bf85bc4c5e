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
}

export const initialGcraState: GcraState = { tat: 0, seq: 0 };

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
 * Gives back `refundUs` of a grant (a cancelled reservation, or a settle below the reserved cost).
 *
 * Only the latest grant (its `seq` is the state's) is given back, and then exactly: the next
 * caller gets its slot. A call counts at its settled cost from the moment it started, so a refund
 * to an earlier grant would free capacity in the past, under calls that have since been granted
 * on top of it; crediting it now would let more through than the limit. It is dropped instead.
 */
export function gcraRefund(state: GcraState, refundUs: number, grantSeq: number): GcraState {
  if (grantSeq !== state.seq) return state;
  return { ...state, tat: Math.max(state.tat - refundUs, 0) };
}

/** Charges `extraUs` more than was reserved (a settle above the reservation): debt later waits repay. */
export function gcraCharge(state: GcraState, nowUs: number, extraUs: number): GcraState {
  return { ...state, tat: Math.max(state.tat, nowUs) + extraUs };
}

/**
 * Pushes the schedule so that no grant starts before `untilUs`, and the bucket refills from empty
 * from then on (what a provider's 429 with Retry-After asks for, without a storm at `untilUs`).
 */
export function gcraHold(
  state: GcraState,
  nowUs: number,
  untilUs: number,
  capacityUs: number,
): GcraState {
  // Counts as the latest event, so that no earlier grant's refund can pull the schedule back.
  return { tat: Math.max(state.tat, untilUs + capacityUs), seq: nextSeq(state.seq, nowUs) };
}

/** µs of schedule still free at `nowUs` (negative when reservations run ahead). */
export function gcraFreeUs(state: GcraState, nowUs: number, capacityUs: number): number {
  return capacityUs - Math.max(0, state.tat - nowUs);
}
