/**
 * Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * the delay before retry `n` (0-based) is uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)].
 * A backoff is a value: `next()` returns the following step, so it is trivially testable.
 * Pure: randomness is an argument.
 */

/** Parameters of the exponential envelope. */
export interface FullJitterParams {
  /** Envelope of the first retry, in ms. */
  baseDelayMs: number;
  /** Largest envelope, in ms. */
  maxDelayMs: number;
}

/** One step of a backoff. */
export interface FullJitterBackoff {
  /** 0-based retry index this delay precedes. */
  readonly attempt: number;
  /** Upper bound of the jitter for this step, in ms. */
  readonly ceilingMs: number;
  /** The chosen delay, in ms: finite, in [0, ceilingMs]. */
  readonly duration: number;
  /** The next step (one more retry). */
  next(): FullJitterBackoff;
}

/** The envelope `min(maxDelayMs, baseDelayMs * 2^attempt)`, safe for any attempt. */
export function jitterCeiling(params: FullJitterParams, attempt: number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 1023);
  const raw = params.baseDelayMs * 2 ** exponent;
  return Math.max(0, Math.min(params.maxDelayMs, Number.isFinite(raw) ? raw : params.maxDelayMs));
}

/** A delay in [0, ceiling] from one random draw; a faulty source is clamped to [0, 1]. */
export function fullJitterDelay(
  params: FullJitterParams,
  attempt: number,
  random: () => number,
): number {
  const draw = random();
  const unit = Number.isFinite(draw) ? Math.min(1, Math.max(0, draw)) : 0;
  return unit * jitterCeiling(params, attempt);
}

/** The backoff before retry `attempt` (default 0: the first retry). */
export function fullJitterBackoff(
  params: FullJitterParams,
  random: () => number,
  attempt = 0,
): FullJitterBackoff {
  return {
    attempt,
    ceilingMs: jitterCeiling(params, attempt),
    duration: fullJitterDelay(params, attempt, random),
    next: () => fullJitterBackoff(params, random, attempt + 1),
  };
}
