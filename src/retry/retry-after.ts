/**
 * The server's advice on when to retry, read from response headers and (for Gemini) the error
 * body. Every parser returns a finite, non-negative number of milliseconds, or `undefined` for
 * "no advice" — never NaN, a negative number or Infinity, whatever string it is given.
 * Pure: the current time is an argument; dates are parsed without the `Date` global.
 */
import type { HeaderLookup } from '../providers/error-shape.js';
import { errorShape } from '../providers/error-shape.js';

/** Longest delay any parser reports: one year. Longer advice is clamped to it. */
export const MAX_ADVICE_MS = 365 * 24 * 3600 * 1000;

function finiteDelay(ms: number): number | undefined {
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), MAX_ADVICE_MS);
}

const DECIMAL = /^\s*(\d{1,15}(?:\.\d{1,9})?)\s*$/;

/** `retry-after-ms`: a decimal number of milliseconds. */
export function parseRetryAfterMs(value: string | undefined): number | undefined {
  const m = value === undefined ? null : DECIMAL.exec(value);
  return m ? finiteDelay(Number(m[1])) : undefined;
}

/** `retry-after`: delta-seconds (decimals tolerated) or an HTTP date. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const m = DECIMAL.exec(value);
  if (m) return finiteDelay(Number(m[1]) * 1000);
  const at = parseHttpDate(value);
  return at === undefined ? undefined : finiteDelay(at - nowMs);
}

const GO_UNIT_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};

/**
 * A Go-style duration as sent in OpenAI's `x-ratelimit-reset-*` headers and Gemini's
 * `RetryInfo.retryDelay`: `"1s"`, `"6m0s"`, `"20ms"`, `"1.5s"`, `"1h2m3.5s"`; a bare number is
 * read as seconds.
 */
export function parseDuration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text.length === 0 || text.length > 64) return undefined;
  const bare = DECIMAL.exec(text);
  if (bare) return finiteDelay(Number(bare[1]) * 1000);
  const part = /(\d{1,15}(?:\.\d{1,9})?)(ms|us|µs|ns|h|m|s)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const m = part.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (GO_UNIT_MS[m[2] as string] ?? Number.NaN);
    index = part.lastIndex;
  }
  return finiteDelay(total);
}

/** An RFC 3339 timestamp (Anthropic's `anthropic-ratelimit-*-reset`) as delay from `nowMs`. */
export function parseResetTimestamp(value: string | undefined, nowMs: number): number | undefined {
  const at = value === undefined ? undefined : parseRfc3339(value);
  return at === undefined ? undefined : finiteDelay(at - nowMs);
}

// ---- calendar arithmetic (no Date global) ------------------------------------------------

/** Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function epochMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | undefined {
  if (year < 1970 || year > 9999 || month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second >= 61) return undefined;
  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * An HTTP date (RFC 9110): IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850
 * `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`. Epoch ms or undefined.
 */
export function parseHttpDate(value: string): number | undefined {
  const text = value.trim();
  if (text.length > 64) return undefined;
  let m =
    /^[A-Za-z]{3,9},\s*(\d{1,2})[\s-]([A-Za-z]{3})[\s-](\d{2}|\d{4})\s+(\d{2}):(\d{2}):(\d{2})\s*(?:GMT|UTC|Z)?$/i.exec(
      text,
    );
  if (m) {
    const month = MONTHS.indexOf((m[2] as string).toLowerCase()) + 1;
    let year = Number(m[3]);
    if ((m[3] as string).length === 2) year += year < 70 ? 2000 : 1900;
    return epochMs(year, month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = /^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})$/.exec(text);
  if (m) {
    const month = MONTHS.indexOf((m[1] as string).toLowerCase()) + 1;
    return epochMs(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  }
  return undefined;
}

/** An RFC 3339 timestamp, e.g. `2024-05-01T12:00:30.5Z` or `...+02:00`. Epoch ms or undefined. */
export function parseRfc3339(value: string): number | undefined {
  const m =
    /^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|z|[+-]\d{2}:\d{2})\s*$/.exec(
      value,
    );
  if (!m) return undefined;
  const base = epochMs(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
  if (base === undefined) return undefined;
  const fraction = m[7] ? Number(m[7]) * 1000 : 0;
  const zone = m[8] as string;
  let offsetMs = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(4, 6));
    if (hours > 23 || minutes > 59) return undefined;
    offsetMs = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  return base + fraction - offsetMs;
}

// ---- advice from a whole response --------------------------------------------------------

/** Where the advice came from (for events and logs). */
export type RetryAdviceSource =
  | 'retry-after-ms'
  | 'retry-after'
  | 'x-ratelimit-reset'
  | 'anthropic-ratelimit-reset'
  | 'retry-info'
  | 'message';

export interface RetryAdvice {
  /** Finite, non-negative delay in ms. */
  delayMs: number;
  source: RetryAdviceSource;
}

const OPENAI_DIMENSIONS = ['requests', 'tokens'];
const ANTHROPIC_DIMENSIONS = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/**
 * Longest reset among the exhausted dimensions (remaining = 0); when no `remaining` header is
 * present at all, the longest reset given. `undefined` when every dimension still has room.
 */
function resetAdvice(
  header: HeaderLookup,
  prefix: string,
  dimensions: string[],
  parse: (value: string | undefined) => number | undefined,
): number | undefined {
  let exhausted: number | undefined;
  let any: number | undefined;
  let sawRemaining = false;
  for (const dim of dimensions) {
    const reset = parse(header(`${prefix}-${dim}-reset`) ?? header(`${prefix}-reset-${dim}`));
    const remainingText =
      header(`${prefix}-${dim}-remaining`) ?? header(`${prefix}-remaining-${dim}`);
    if (remainingText !== undefined) sawRemaining = true;
    if (reset === undefined) continue;
    any = Math.max(any ?? 0, reset);
    if (remainingText !== undefined && Number(remainingText.trim()) === 0) {
      exhausted = Math.max(exhausted ?? 0, reset);
    }
  }
  return exhausted ?? (sawRemaining ? undefined : any);
}

/** Gemini's `google.rpc.RetryInfo` detail: `{ "@type": ".../google.rpc.RetryInfo", retryDelay }`. */
export function retryInfoDelay(details: Record<string, unknown>[]): number | undefined {
  for (const d of details) {
    const type = d['@type'];
    if (typeof type === 'string' && type.endsWith('google.rpc.RetryInfo')) {
      const delay = d.retryDelay;
      if (typeof delay === 'string') return parseDuration(delay);
      if (typeof delay === 'object' && delay !== null) {
        const { seconds, nanos } = delay as { seconds?: unknown; nanos?: unknown };
        const ms = Number(seconds ?? 0) * 1000 + Number(nanos ?? 0) / 1e6;
        return finiteDelay(ms);
      }
    }
  }
  return undefined;
}

/** The server's advice from headers alone, most specific first. */
export function retryAdviceFromHeaders(
  header: HeaderLookup,
  nowMs: number,
): RetryAdvice | undefined {
  const ms = parseRetryAfterMs(header('retry-after-ms'));
  if (ms !== undefined) return { delayMs: ms, source: 'retry-after-ms' };
  const ra = parseRetryAfter(header('retry-after'), nowMs);
  if (ra !== undefined) return { delayMs: ra, source: 'retry-after' };
  const openai = resetAdvice(header, 'x-ratelimit', OPENAI_DIMENSIONS, parseDuration);
  if (openai !== undefined) return { delayMs: openai, source: 'x-ratelimit-reset' };
  const anthropic = resetAdvice(header, 'anthropic-ratelimit', ANTHROPIC_DIMENSIONS, (v) =>
    parseResetTimestamp(v, nowMs),
  );
  if (anthropic !== undefined) return { delayMs: anthropic, source: 'anthropic-ratelimit-reset' };
  return undefined;
}

/** OpenAI's wait in a rate-limit message: "... Please try again in 8.764s. Visit ...". */
const TRY_AGAIN = /Please try again in (\d+(?:\.\d+)?(?:h|ms|m|s)(?:\d+(?:\.\d+)?(?:ms|m|s))*)\./g;

/**
 * The wait an OpenAI 429 states in its message when it came without headers (openai-node#1477).
 * Only for a 429 whose structured `code` is `rate_limit_exceeded`, and the last such sentence:
 * the provider's own, after anything the message quotes (a model name, an organisation).
 */
function messageDelay(shape: ReturnType<typeof errorShape>): number | undefined {
  if (shape.status !== 429 || !shape.codes.includes('rate_limit_exceeded')) return undefined;
  let delay: number | undefined;
  for (const message of shape.messages) {
    for (const m of message.matchAll(TRY_AGAIN)) delay = parseDuration(m[1]) ?? delay;
  }
  return delay;
}

/**
 * The server's advice carried by a thrown error: its headers, then Gemini's `RetryInfo`, then
 * the "Please try again in ..." of an OpenAI rate-limit 429 that came without headers.
 */
export function retryAdvice(error: unknown, nowMs: number): RetryAdvice | undefined {
  const shape = errorShape(error);
  const fromHeaders = retryAdviceFromHeaders(shape.header, nowMs);
  if (fromHeaders) return fromHeaders;
  const info = retryInfoDelay(shape.details);
  if (info !== undefined) return { delayMs: info, source: 'retry-info' };
  const stated = messageDelay(shape);
  return stated === undefined ? undefined : { delayMs: stated, source: 'message' };
}
