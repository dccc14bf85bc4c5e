/**
 * The providers' rate-limit headers, read into one shape per dimension: Anthropic's
 * `anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,remaining,reset}`
 * (reset: an RFC 3339 instant) and OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
 * (reset: a Go duration such as `6m0s`, `1s`, `20ms`). Pure: the current time is an argument.
 */

import { parseDuration, parseRfc3339 } from '../retry/retry-after.js';
import { type HeaderLookup, headerLookup } from './error-shape.js';
import type { Provider } from './usage.js';

/** One dimension's state as the provider reported it. Absent fields were absent or unreadable. */
export interface RateLimitDimension {
  readonly limit?: number;
  /** Anthropic rounds token figures to the nearest thousand (PROVIDERS.md §1.5). */
  readonly remaining?: number;
  /** When the bucket is full again, in ms since the epoch. */
  readonly resetAtMs?: number;
}

/** Anthropic: `tokens` is input + output unless a workspace limit is tighter. */
export type RateLimitDimensionName = 'requests' | 'input-tokens' | 'output-tokens' | 'tokens';

export type RateLimitHeaders = Partial<Record<RateLimitDimensionName, RateLimitDimension>>;

/** A fetch `Headers`, anything with a `get(name)`, or a plain record (Node's `IncomingHttpHeaders`). */
export type HeadersLike =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

const ANTHROPIC: readonly RateLimitDimensionName[] = [
  'requests',
  'input-tokens',
  'output-tokens',
  'tokens',
];
const OPENAI: readonly RateLimitDimensionName[] = ['requests', 'tokens'];

/** A non-negative integer, as the headers carry; Azure's `-1` and junk read as absent. */
function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,15}\s*$/.test(value)) return undefined;
  return Number(value);
}

function dimension(
  limit: string | undefined,
  remaining: string | undefined,
  resetAtMs: number | undefined,
): RateLimitDimension | undefined {
  const out: { limit?: number; remaining?: number; resetAtMs?: number } = {};
  const l = count(limit);
  const r = count(remaining);
  if (l !== undefined) out.limit = l;
  if (r !== undefined) out.remaining = r;
  if (resetAtMs !== undefined) out.resetAtMs = resetAtMs;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Reads the rate-limit headers of a response (a `Headers`, a Map-like `get`, or a plain record).
 * `nowMs` turns OpenAI's relative resets into instants. Dimensions without any header are absent.
 */
export function readRateLimitHeaders(
  provider: Provider,
  headers: HeadersLike,
  nowMs: number,
): RateLimitHeaders {
  const header: HeaderLookup = headerLookup(headers);
  const out: Partial<Record<RateLimitDimensionName, RateLimitDimension>> = {};
  if (provider === 'anthropic') {
    for (const name of ANTHROPIC) {
      const prefix = `anthropic-ratelimit-${name}`;
      const reset = header(`${prefix}-reset`);
      const d = dimension(
        header(`${prefix}-limit`),
        header(`${prefix}-remaining`),
        reset === undefined ? undefined : parseRfc3339(reset),
      );
      if (d) out[name] = d;
    }
  } else {
    for (const name of OPENAI) {
      const reset = parseDuration(header(`x-ratelimit-reset-${name}`));
      const d = dimension(
        header(`x-ratelimit-limit-${name}`),
        header(`x-ratelimit-remaining-${name}`),
        reset === undefined ? undefined : nowMs + reset,
      );
      if (d) out[name] = d;
    }
  }
  return out;
}
