/**
 * Continuously replenished token buckets, the model both Anthropic and OpenAI document: a
 * bucket holds at most `capacity` units and refills at `refillPerMs`; a request is admitted when
 * every bucket it draws on holds its cost. Pure functions of (state, params, now).
 */

export interface BucketParams {
  /** Most units the bucket holds (the burst admissible at one instant). */
  readonly capacity: number;
  /** Units restored per millisecond. */
  readonly refillPerMs: number;
  /**
   * Units another consumer takes per millisecond (below `refillPerMs`): its draw comes off the
   * refill, so this bucket refills at the difference. @default 0
   */
  readonly drainPerMs?: number;
}

/**
 * Float noise allowed on a level. Sums of refills and charges drift by a few ulps: a request
 * refused for 755 tokens at 2000/min was refused again after exactly the 18 s of its
 * `retry-after`, because 154.99999999999994 + 18000 × (2000/60000) = 754.9999999999999. A level
 * within this of the cost holds it; a level within this of zero is zero.
 */
function tolerance(params: BucketParams): number {
  return 1e-9 * Math.max(1, params.capacity);
}

/** What this bucket's holder gains per millisecond: the refill less the other consumer's draw. */
export function netRefillPerMs(params: BucketParams): number {
  return params.refillPerMs - (params.drainPerMs ?? 0);
}

export interface BucketState {
  /** Units available at `at`; may be negative after a settlement charged more than reserved. */
  readonly level: number;
  /** Time of `level`, in ms. */
  readonly at: number;
}

/** A full bucket at `now`. */
export function fullBucket(params: BucketParams, now: number): BucketState {
  return { level: params.capacity, at: now };
}

/** Units available at `now` (never above capacity; time never runs backwards). */
export function levelAt(state: BucketState, params: BucketParams, now: number): number {
  const elapsed = Math.max(0, now - state.at);
  return Math.min(params.capacity, state.level + elapsed * netRefillPerMs(params));
}

/** The state at `now` after refill. */
export function refill(state: BucketState, params: BucketParams, now: number): BucketState {
  return { level: levelAt(state, params, now), at: Math.max(now, state.at) };
}

/**
 * Milliseconds until `cost` units are available: 0 when they are now, `Infinity` when the cost
 * exceeds the capacity and can never be admitted.
 */
export function waitFor(
  state: BucketState,
  params: BucketParams,
  now: number,
  cost: number,
): number {
  if (cost > params.capacity) return Number.POSITIVE_INFINITY;
  const deficit = cost - levelAt(state, params, now);
  if (deficit <= tolerance(params)) return 0;
  const rate = netRefillPerMs(params);
  return rate > 0 ? deficit / rate : Number.POSITIVE_INFINITY;
}

/** Milliseconds until the bucket is full again (the providers' "reset"). */
export function fullAfter(state: BucketState, params: BucketParams, now: number): number {
  const missing = params.capacity - levelAt(state, params, now);
  if (missing <= 0) return 0;
  const rate = netRefillPerMs(params);
  return rate > 0 ? missing / rate : Number.POSITIVE_INFINITY;
}

/**
 * Adds `delta` units (positive: a refund; negative: a charge) at `now`. A refund never lifts the
 * level above capacity; a charge may take it below zero (a debt repaid by refill).
 */
export function adjust(
  state: BucketState,
  params: BucketParams,
  now: number,
  delta: number,
): BucketState {
  const current = refill(state, params, now);
  const level = Math.min(params.capacity, current.level + delta);
  return { level: Math.abs(level) <= tolerance(params) ? 0 : level, at: current.at };
}
