/**
 * The two algorithms behind one interface, so a store can run either without knowing which.
 * Both are pure; see gcra.ts and token-bucket.ts for the math and the reasons.
 */
import {
  type GcraState,
  gcraCharge,
  gcraFreeUs,
  gcraGrant,
  gcraGrantInPlace,
  gcraHold,
  gcraRefund,
  gcraWait,
  heldUs,
  initialGcraState,
} from './gcra.js';
import {
  initialTokenBucketState,
  type TokenBucketState,
  tokenBucketCharge,
  tokenBucketFreeUs,
  tokenBucketGrant,
  tokenBucketHold,
  tokenBucketRefund,
  tokenBucketWait,
} from './token-bucket.js';

export type AlgorithmName = 'gcra' | 'token-bucket';

/** Operations over one key's state; every argument and result is in integer µs. */
export interface AlgorithmOps<S> {
  readonly initial: S;
  wait(state: S, nowUs: number, costUs: number, capacityUs: number): number;
  grant(state: S, nowUs: number, startUs: number, costUs: number, capacityUs: number): S;
  /**
   * `grant`, updating `state` itself: only for a store that owns its states (one live state per
   * key, never shared, never the `initial` constant). Absent where there is none.
   */
  grantInPlace?(state: S, nowUs: number, startUs: number, costUs: number, capacityUs: number): S;
  /** `undo`: the grant is withdrawn whole (its call never runs). */
  refund(
    state: S,
    nowUs: number,
    refundUs: number,
    grantSeq: number,
    capacityUs: number,
    undo: boolean,
  ): S;
  charge(state: S, nowUs: number, extraUs: number, capacityUs: number): S;
  hold(state: S, nowUs: number, untilUs: number, capacityUs: number): S;
  freeUs(state: S, nowUs: number, capacityUs: number): number;
  /** µs until the latest granted start (0 when it is past). */
  fifoUs(state: S, nowUs: number): number;
  /** µs until the latest hold ends (0 when it is past). */
  heldUs(state: S, nowUs: number): number;
  seq(state: S): number;
}

const gcraOps: AlgorithmOps<GcraState> = {
  initial: initialGcraState,
  wait: gcraWait,
  grant: (s, now, start, cost) => gcraGrant(s, now, start, cost),
  grantInPlace: (s, now, start, cost) => gcraGrantInPlace(s, now, start, cost),
  refund: (s, _now, refund, seq, _cap, undo) => gcraRefund(s, refund, seq, undo),
  charge: (s, now, extra) => gcraCharge(s, now, extra),
  hold: gcraHold,
  freeUs: gcraFreeUs,
  fifoUs: (s, now) => Math.max(0, s.lastStart - now),
  heldUs,
  seq: (s) => s.seq,
};

const tokenBucketOps: AlgorithmOps<TokenBucketState> = {
  initial: initialTokenBucketState,
  wait: tokenBucketWait,
  grant: tokenBucketGrant,
  refund: tokenBucketRefund,
  charge: tokenBucketCharge,
  hold: tokenBucketHold,
  freeUs: tokenBucketFreeUs,
  fifoUs: (s, now) => Math.max(0, s.lastStart - now),
  heldUs,
  seq: (s) => s.seq,
};

export const algorithms: { readonly [K in AlgorithmName]: AlgorithmOps<unknown> } = {
  gcra: gcraOps as AlgorithmOps<unknown>,
  'token-bucket': tokenBucketOps as AlgorithmOps<unknown>,
};
