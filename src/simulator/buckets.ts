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
  return Math.min(params.capacity, state.level + elapsed * params.refillPerMs);
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
  if (deficit <= 0) return 0;
  return params.refillPerMs > 0 ? deficit / params.refillPerMs : Number.POSITIVE_INFINITY;
}

/** Milliseconds until the bucket is full again (the providers' "reset"). */
export function fullAfter(state: BucketState, params: BucketParams, now: number): number {
  const missing = params.capacity - levelAt(state, params, now);
  if (missing <= 0) return 0;
  return params.refillPerMs > 0 ? missing / params.refillPerMs : Number.POSITIVE_INFINITY;
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
  return { level: Math.min(params.capacity, current.level + delta), at: current.at };
}
