/**
 * Token bucket as pure functions of (state, now, cost), with continuous refill. Tokens are held
 * as µs of refill (`level`), so the arithmetic is exact and, for equal parameters and a clock
 * that does not step back, every decision equals GCRA's (a property test holds them to it);
 * `lua/math.ts` mirrors this file.
 *
 * `level` may go negative: reservations granted ahead of time are debt that refill repays.
 * A clock reading earlier than `last` is read as `last`: the refill up to `last` is already in
 * `level`, and counting it again would admit twice for the same time.
 */
import { nextSeq } from './gcra.js';
import {
  emptyLedger,
  type Ledger,
  ledgerAfterGrant,
  ledgerAfterRefund,
  ledgerAllowance,
} from './refund-ledger.js';

export interface TokenBucketState {
  /** Tokens in the bucket at `last`, as µs of refill; capacity is full. */
  readonly level: number;
  /** When `level` was computed (µs). */
  readonly last: number;
  /** Number of the latest event (grant, charge or hold); 0 with `last` 0 = never used (full). */
  readonly seq: number;
  /** Latest start granted (µs): later grants never start before it (FIFO). */
  readonly lastStart: number;
  /** `lastStart` before the latest event, restored when that event is undone. */
  readonly prevStart: number;
  /** Allowances for refunds to earlier grants; see refund-ledger.ts. */
  readonly ledger: Ledger;
  /** End of the latest hold (µs; 0 = never held); see GcraState. */
  readonly heldUntil: number;
}

export const initialTokenBucketState: TokenBucketState = {
  level: 0,
  last: 0,
  seq: 0,
  lastStart: 0,
  prevStart: 0,
  ledger: emptyLedger,
  heldUntil: 0,
};

function isFresh(state: TokenBucketState): boolean {
  return state.seq === 0 && state.last === 0;
}

/** The time the state is read at: never before `last`. */
function readAt(state: TokenBucketState, nowUs: number): number {
  return Math.max(nowUs, state.last);
}

/** Bucket level at `atUs` (>= last) after refill, capped at the capacity. */
function levelAt(state: TokenBucketState, atUs: number, capacityUs: number): number {
  if (isFresh(state)) return capacityUs;
  return Math.min(capacityUs, state.level + (atUs - state.last));
}

/** Where GCRA's schedule would end: the ledger speaks in those terms. */
function scheduleEnd(state: TokenBucketState, atUs: number, capacityUs: number): number {
  return atUs + capacityUs - levelAt(state, atUs, capacityUs);
}

/** Bucket level at `nowUs` after refill, capped at the capacity. */
export function tokenBucketLevel(
  state: TokenBucketState,
  nowUs: number,
  capacityUs: number,
): number {
  return levelAt(state, readAt(state, nowUs), capacityUs);
}

/** µs until `costUs` of tokens are in the bucket (0 = at once). */
export function tokenBucketWait(
  state: TokenBucketState,
  nowUs: number,
  costUs: number,
  capacityUs: number,
): number {
  const at = readAt(state, nowUs);
  const byRate = at - nowUs + Math.max(0, costUs - levelAt(state, at, capacityUs));
  return Math.max(byRate, state.lastStart - nowUs);
}

/** Takes `costUs` of tokens for a call starting at `startUs` (>= now + wait). */
export function tokenBucketGrant(
  state: TokenBucketState,
  nowUs: number,
  startUs: number,
  costUs: number,
  capacityUs: number,
): TokenBucketState {
  // A call that starts later than it could have leaves the refill between now and its start
  // unused: the bucket is full at most at `startUs`, exactly as max(tat, start) does for GCRA.
  const at = readAt(state, nowUs);
  const atStart = Math.min(capacityUs, levelAt(state, at, capacityUs) + (startUs - at));
  const seq = nextSeq(state.seq, nowUs);
  return {
    level: atStart - costUs - (startUs - at),
    last: at,
    seq,
    lastStart: Math.max(state.lastStart, startUs),
    prevStart: state.lastStart,
    ledger: ledgerAfterGrant(state.ledger, scheduleEnd(state, at, capacityUs), startUs, seq),
    heldUntil: state.heldUntil,
  };
}

/** Gives tokens back as far as the ledger allows; see `gcraRefund` for why. */
export function tokenBucketRefund(
  state: TokenBucketState,
  nowUs: number,
  refundUs: number,
  grantSeq: number,
  capacityUs: number,
  undo: boolean,
): TokenBucketState {
  const applied = Math.min(refundUs, ledgerAllowance(state.ledger, grantSeq, state.seq));
  if (!(applied > 0)) return state;
  const at = readAt(state, nowUs);
  // Credit above capacity is cut at the next refill, as undoing a grant from a full bucket is.
  return {
    ...state,
    level: levelAt(state, at, capacityUs) + applied,
    last: at,
    lastStart: undo && grantSeq === state.seq ? state.prevStart : state.lastStart,
    ledger: ledgerAfterRefund(state.ledger, grantSeq, applied),
  };
}

/** Takes `extraUs` more tokens than were reserved: a debt that starts now. */
export function tokenBucketCharge(
  state: TokenBucketState,
  nowUs: number,
  extraUs: number,
  capacityUs: number,
): TokenBucketState {
  const at = readAt(state, nowUs);
  const seq = nextSeq(state.seq, nowUs);
  return {
    ...state,
    level: levelAt(state, at, capacityUs) - extraUs,
    last: at,
    seq,
    prevStart: state.lastStart,
    ledger: ledgerAfterGrant(state.ledger, scheduleEnd(state, at, capacityUs), nowUs, seq),
  };
}

/** Empties the bucket at `untilUs`: no grant starts before then. */
export function tokenBucketHold(
  state: TokenBucketState,
  nowUs: number,
  untilUs: number,
  capacityUs: number,
): TokenBucketState {
  const at = readAt(state, nowUs);
  // Level at `untilUs` must be <= 0: level + (until - at) <= 0.
  const held = Math.min(levelAt(state, at, capacityUs), -(untilUs - at));
  const seq = nextSeq(state.seq, nowUs);
  const end = scheduleEnd(state, at, capacityUs);
  return {
    ...state,
    level: held,
    last: at,
    seq,
    prevStart: state.lastStart,
    ledger: ledgerAfterGrant(state.ledger, end, untilUs + capacityUs, seq),
    heldUntil: Math.max(state.heldUntil, untilUs),
  };
}

/**
 * Tokens (µs of refill) in the bucket at `nowUs`; negative while reservations run ahead. A
 * reading before `last` counts the time up to `last` as still to come.
 */
export function tokenBucketFreeUs(
  state: TokenBucketState,
  nowUs: number,
  capacityUs: number,
): number {
  const at = readAt(state, nowUs);
  return levelAt(state, at, capacityUs) - (at - nowUs);
}
