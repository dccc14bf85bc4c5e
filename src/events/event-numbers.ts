/**
 * Numbers in events are rounded to their unit, so a log line reads `delayMs 388`, not
 * `387.62566799496733`: policy events in whole ms, the limiter's in whole µs (as every limiter
 * figure is). See docs/policies.md, "Events".
 */

/** A measured duration or an instant, in whole ms: to the nearest. */
export function roundMs(ms: number): number {
  return Math.round(ms);
}

/**
 * A wait, in whole ms, rounded up: the event and the wait it announces agree, and rounding never
 * shortens a server's Retry-After.
 */
export function ceilMs(ms: number): number {
  return Math.ceil(ms);
}
