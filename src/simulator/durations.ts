/**
 * The two time formats of rate-limit headers, as the simulator writes them: OpenAI's Go-style
 * durations (`"1s"`, `"6m0s"`, `"20ms"`) and Anthropic's RFC 3339 instants. The client side reads
 * them with the retry policy's parsers (src/retry/retry-after.ts); the tests round-trip the two.
 */

/**
 * Formats a duration the way Go's `time.Duration.String()` does, at millisecond precision:
 * `0s`, `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3.004s`. Negative and sub-half-millisecond values
 * give `0s`.
 */
export function formatGoDuration(ms: number): string {
  const total = Math.round(ms);
  if (!(total > 0)) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const secondsMs = total % 60_000;
  const whole = Math.floor(secondsMs / 1000);
  const fraction = secondsMs % 1000;
  const seconds =
    fraction === 0
      ? `${whole}`
      : `${whole}.${String(fraction).padStart(3, '0').replace(/0+$/, '')}`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/**
 * Formats an instant as RFC 3339 at whole seconds (`2026-01-06T18:25:50Z`), as Anthropic's
 * `*-reset` headers do. Rounds up, so a client that waits until then never arrives early.
 */
export function formatRfc3339(epochMs: number): string {
  return new Date(Math.ceil(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Whole seconds for a `retry-after` header: rounded up, at least 1 when any wait remains. A
 * quotient a few ulps above a whole second (1 request of 3 per day: 28800000.000000004 ms) is
 * that second, not the next: the buckets admit within the same float noise.
 */
export function retryAfterSeconds(ms: number): number {
  return ms > 0 ? Math.max(1, Math.ceil((ms / 1000) * (1 - 1e-12))) : 0;
}
