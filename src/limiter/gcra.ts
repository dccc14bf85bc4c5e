/**
 * GCRA (generic cell rate algorithm) as pure functions of (state, now, cost). No clock, no I/O:
 * the stores call these, and `lua/math.ts` mirrors them function for function.
 *
 * All times are integer microseconds; costs are already converted to µs of schedule
 * (`costUs` in rate.ts). The theoretical arrival time `tat` is the end of the schedule: a unit
 * costing `c` µs may start at `start` iff max(tat, start) + c - start <= capacity.
 *
 * Beside `tat`, a key keeps what refunds and FIFO order need: the number of its latest event,
 * the latest start it granted, and a small ledger (refund-ledger.ts) of how far the schedule may
 * move back for a refund to an earlier grant.
 */
import { ledgerAfterGrantInPlace } from './owned-ledger.js';
import {
  emptyLedger,
  type Ledger,
  ledgerAfterGrant,
  ledgerAfterRefund,
  ledgerAllowance,
} from './refund-ledger.js';

export interface GcraState {
  /** Theoretical arrival time: where the schedule ends (µs). 0 = never used. */
  readonly tat: number;
  /** Number of the latest event (grant, charge or hold); 0 = never used. */
  readonly seq: number;
  /** Latest start granted (µs): later grants never start before it (FIFO). */
  readonly lastStart: number;
  /** `lastStart` before the latest event, restored when that event is undone. */
  readonly prevStart: number;
  /** Allowances for refunds to earlier grants. */
  readonly ledger: Ledger;
  /**
   * End of the latest hold (µs; 0 = never held). Grants made before a hold may have slots inside
   * it: their callers read this when they wake, and queue again instead of starting.
   */
  readonly heldUntil: number;
}

export const initialGcraState: GcraState = {
  tat: 0,
  seq: 0,
  lastStart: 0,
  prevStart: 0,
  ledger: emptyLedger,
  heldUntil: 0,
};

/** µs until a charge of `costUs` could start (0 = at once). */
export function gcraWait(
  state: GcraState,
  nowUs: number,
  costUs: number,
  capacityUs: number,
): number {
  const byRate = Math.max(state.tat, nowUs) + costUs - capacityUs;
  return Math.max(0, byRate - nowUs, state.lastStart - nowUs);
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
  const seq = nextSeq(state.seq, nowUs);
  return {
    tat: Math.max(state.tat, startUs) + costUs,
    seq,
    lastStart: Math.max(state.lastStart, startUs),
    prevStart: state.lastStart,
    ledger: ledgerAfterGrant(state.ledger, state.tat, startUs, seq),
    heldUntil: state.heldUntil,
  };
}

/**
 * `gcraGrant` writing into `state` instead of a new object, for a store that owns its states
 * (MemoryStore: one live state per key, never handed out). Same numbers as `gcraGrant`; it
 * saves the allocations of a new state, and of the ledger on an idle schedule, on the hot path.
 */
export function gcraGrantInPlace(
  state: GcraState,
  nowUs: number,
  startUs: number,
  costUs: number,
): GcraState {
  const s = state as Mutable<GcraState>;
  const seq = nextSeq(s.seq, nowUs);
  const tatBefore = s.tat;
  s.ledger = ledgerAfterGrantInPlace(s.ledger, tatBefore, startUs, seq);
  s.tat = Math.max(tatBefore, startUs) + costUs;
  s.seq = seq;
  s.prevStart = s.lastStart;
  s.lastStart = Math.max(s.lastStart, startUs);
  return s;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Next event number. A fresh key (seq 0: never used, or expired) starts from the clock, so a
 * permit from before the key expired is not taken for the latest grant of its new life.
 */
export function nextSeq(seq: number, nowUs: number): number {
  return (seq === 0 ? nowUs : seq) + 1;
}

/**
 * Gives back up to `refundUs` of a grant (a cancelled reservation, or a settle below the
 * reserved cost): all of it for the latest event, otherwise as much as the ledger allows. A call
 * counts at its settled cost from the moment it started, so a refund frees schedule in the past,
 * underneath the calls granted since; only the part that no later call stands on can be given
 * back without letting more through than the limit. `undo` says the grant is withdrawn whole
 * (its call never runs): if it is the latest event, its start no longer holds later grants back.
 */
export function gcraRefund(
  state: GcraState,
  refundUs: number,
  grantSeq: number,
  undo: boolean,
): GcraState {
  const applied = Math.min(refundUs, ledgerAllowance(state.ledger, grantSeq, state.seq));
  if (!(applied > 0)) return state;
  return {
    ...state,
    tat: Math.max(state.tat - applied, 0),
    lastStart: undo && grantSeq === state.seq ? state.prevStart : state.lastStart,
    ledger: ledgerAfterRefund(state.ledger, grantSeq, applied),
  };
}

/**
 * Charges `extraUs` more than was reserved (a settle above the reservation): a debt that starts
 * now and that later waits repay.
 */
export function gcraCharge(state: GcraState, nowUs: number, extraUs: number): GcraState {
  const seq = nextSeq(state.seq, nowUs);
  return {
    ...state,
    tat: Math.max(state.tat, nowUs) + extraUs,
    seq,
    prevStart: state.lastStart,
    ledger: ledgerAfterGrant(state.ledger, state.tat, nowUs, seq),
  };
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
  // An event of its own (nothing costing 0, starting at until + capacity): no earlier grant's
  // refund can pull the schedule back before it.
  const seq = nextSeq(state.seq, nowUs);
  const end = untilUs + capacityUs;
  return {
    ...state,
    tat: Math.max(state.tat, end),
    seq,
    prevStart: state.lastStart,
    ledger: ledgerAfterGrant(state.ledger, state.tat, end, seq),
    heldUntil: Math.max(state.heldUntil, untilUs),
  };
}

/** µs until the latest hold ends (0 when it is past or there was none); token buckets too. */
export function heldUs(state: { readonly heldUntil: number }, nowUs: number): number {
  return Math.max(0, state.heldUntil - nowUs);
}

/** µs of schedule still free at `nowUs` (negative when reservations run ahead). */
export function gcraFreeUs(state: GcraState, nowUs: number, capacityUs: number): number {
  return capacityUs - Math.max(0, state.tat - nowUs);
}
