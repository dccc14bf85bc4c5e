/**
 * Token bucket as pure functions of (state, now, cost), with continuous refill. Tokens are held
 * as µs of refill (`level`), so the arithmetic is exact and, for equal parameters, every decision
 * equals GCRA's (a property test holds them to it); `lua/token-bucket.lua` mirrors this file.
 *
 * `level` may go negative: reservations granted ahead of time are debt that refill repays.
 */
import { nextSeq } from './gcra.js';

export interface TokenBucketState {
  /** Tokens in the bucket at `last`, as µs of refill; capacity is full. */
  readonly level: number;
  /** When `level` was computed (µs). 0 = never used (the bucket is full). */
  readonly last: number;
  /** Sequence number of the latest grant. */
  readonly seq: number;
}

export const initialTokenBucketState: TokenBucketState = {
  level: 0,
  last: 0,
  seq: 0,
};

/** Bucket level at `nowUs` after refill, capped at the capacity. */
export function tokenBucketLevel(
  state: TokenBucketState,
  nowUs: number,
  capacityUs: number,
): number {
  if (state.last === 0) return capacityUs;
  return Math.min(capacityUs, state.level + Math.max(0, nowUs - state.last));
}

/** µs until `costUs` of tokens are in the bucket (0 = at once). */
export function tokenBucketWait(
  state: TokenBucketState,
  nowUs: number,
  costUs: number,
  capacityUs: number,
): number {
  return Math.max(0, costUs - tokenBucketLevel(state, nowUs, capacityUs));
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
  const level = tokenBucketLevel(state, nowUs, capacityUs);
  const atStart = Math.min(capacityUs, level + (startUs - nowUs));
  return {
    level: atStart - costUs - (startUs - nowUs),
    last: nowUs,
    seq: nextSeq(state.seq, nowUs),
  };
}

/** Gives tokens back to the latest grant only; see `gcraRefund` for why. */
export function tokenBucketRefund(
  state: TokenBucketState,
  nowUs: number,
  refundUs: number,
  grantSeq: number,
  capacityUs: number,
): TokenBucketState {
  if (grantSeq !== state.seq) return state;
  // Credit above capacity is cut at the next refill, as undoing a grant from a full bucket is.
  return { ...state, level: tokenBucketLevel(state, nowUs, capacityUs) + refundUs, last: nowUs };
}

/** Takes `extraUs` more tokens than were reserved (debt). */
export function tokenBucketCharge(
  state: TokenBucketState,
  nowUs: number,
  extraUs: number,
  capacityUs: number,
): TokenBucketState {
  return { ...state, level: tokenBucketLevel(state, nowUs, capacityUs) - extraUs, last: nowUs };
}

/** Empties the bucket at `untilUs`: no grant starts before then. */
export function tokenBucketHold(
  state: TokenBucketState,
  nowUs: number,
  untilUs: number,
  capacityUs: number,
): TokenBucketState {
  const level = tokenBucketLevel(state, nowUs, capacityUs);
  // Level at `untilUs` must be <= 0: level + (until - now) <= 0.
  const held = Math.min(level, -(untilUs - nowUs));
  return { level: held, last: nowUs, seq: nextSeq(state.seq, nowUs) };
}

/** Tokens (µs of refill) in the bucket at `nowUs`; negative while reservations run ahead. */
export function tokenBucketFreeUs(
  state: TokenBucketState,
  nowUs: number,
  capacityUs: number,
): number {
  return tokenBucketLevel(state, nowUs, capacityUs);
}
