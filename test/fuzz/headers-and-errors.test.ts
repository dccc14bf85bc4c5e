/**
 * Random header values and random provider errors: the header parsers never give a NaN, a
 * negative or an infinite wait, whatever the strings; `classifyError` never throws and always
 * answers a valid kind, for any thrown value, SDK errors of any status and body included.
 */
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  type ErrorKind,
  retryAdvice,
  retryAdviceFromHeaders,
} from '../../src/index.js';
import { headerLookup } from '../../src/providers/error-shape.js';
import { readRateLimitHeaders } from '../../src/providers/rate-limit-headers.js';
import {
  parseDuration,
  parseHttpDate,
  parseResetTimestamp,
  parseRetryAfter,
  parseRetryAfterMs,
  parseRfc3339,
} from '../../src/retry/retry-after.js';
import { RUNS, show, trapUnhandledRejections } from './fuzz-support.js';

trapUnhandledRejections();

const NOW = fc.integer({ min: 0, max: 4_102_444_800_000 }); // 1970 .. 2100

/** Header values: well-formed ones of every syntax the providers use, near misses and junk. */
const headerValue = fc.oneof(
  fc.double().map(String),
  fc.integer().map(String),
  fc.bigInt().map(String),
  fc.constantFrom(
    '',
    ' ',
    '-0',
    '1e400',
    '-1',
    'NaN',
    'Infinity',
    '0x10',
    '1_000',
    '١٢',
    '9'.repeat(40),
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().replace('Z', '+14:00')),
  fc
    .array(fc.tuple(fc.nat(1e6), fc.constantFrom('h', 'm', 's', 'ms', 'us', 'µs', 'ns', 'd', '')), {
      minLength: 1,
      maxLength: 4,
    })
    .map((parts) => parts.map(([n, u]) => `${n}${u}`).join('')),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

const RATE_HEADER_NAMES = [
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
  ...['requests', 'tokens'].flatMap((d) =>
    ['limit', 'remaining', 'reset'].map((f) => `x-ratelimit-${f}-${d}`),
  ),
  ...['requests', 'tokens', 'input-tokens', 'output-tokens'].flatMap((d) =>
    ['limit', 'remaining', 'reset'].map((f) => `anthropic-ratelimit-${d}-${f}`),
  ),
];

const headerRecord = fc.dictionary(fc.constantFrom(...RATE_HEADER_NAMES), headerValue, {
  maxKeys: 8,
});

const isWait = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

describe('fuzz: header values', () => {
  it('each parser returns undefined or a finite, non-negative wait', () => {
    fc.assert(
      fc.property(headerValue, NOW, (value, now) => {
        for (const [name, ms] of [
          ['parseRetryAfterMs', parseRetryAfterMs(value)],
          ['parseRetryAfter', parseRetryAfter(value, now)],
          ['parseDuration', parseDuration(value)],
          ['parseResetTimestamp', parseResetTimestamp(value, now)],
        ] as const) {
          if (ms !== undefined) expect(isWait(ms), `${name}(${show(value)}) = ${ms}`).toBe(true);
        }
        for (const at of [parseHttpDate(value), parseRfc3339(value)]) {
          if (at !== undefined) expect(Number.isFinite(at), show(value)).toBe(true);
        }
      }),
      { numRuns: RUNS.fast * 5 },
    );
  });

  it('retryAdviceFromHeaders: no advice, or a finite, non-negative delay', () => {
    fc.assert(
      fc.property(headerRecord, NOW, fc.boolean(), (headers, now, asFetchHeaders) => {
        const bag = asFetchHeaders ? toHeaders(headers) : headers;
        const advice = retryAdviceFromHeaders(headerLookup(bag), now);
        if (advice !== undefined) expect(isWait(advice.delayMs), show(headers)).toBe(true);
      }),
      { numRuns: RUNS.fast * 3 },
    );
  });

  it('readRateLimitHeaders: limits and remaining are non-negative integers, resets finite', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('anthropic', 'openai') as fc.Arbitrary<'anthropic' | 'openai'>,
        headerRecord,
        NOW,
        fc.boolean(),
        (provider, headers, now, asFetchHeaders) => {
          const bag = asFetchHeaders ? toHeaders(headers) : headers;
          const read = readRateLimitHeaders(provider, bag, now);
          for (const d of Object.values(read)) {
            for (const n of [d.limit, d.remaining]) {
              if (n !== undefined)
                expect(Number.isSafeInteger(n) && n >= 0, show(headers)).toBe(true);
            }
            if (d.resetAtMs !== undefined) {
              expect(Number.isFinite(d.resetAtMs), show(headers)).toBe(true);
              // OpenAI's resets are durations from now: never in the past
              if (provider === 'openai') expect(d.resetAtMs >= now, show(headers)).toBe(true);
            }
          }
        },
      ),
      { numRuns: RUNS.fast * 3 },
    );
  });
});

/** Header values with characters fetch's Headers refuses are dropped (a server cannot send them). */
function toHeaders(record: Record<string, string>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(record)) {
    try {
      h.set(k, v);
    } catch {
      // not a valid header value on the wire
    }
  }
  return h;
}

const KINDS: readonly ErrorKind[] = [
  'rate-limit',
  'overloaded',
  'server',
  'timeout',
  'connection',
  'conflict',
  'quota',
  'client',
  'cancelled',
  'circuit-open',
  'unknown',
];

const status = fc.oneof(
  fc.constantFrom(400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529),
  fc.integer({ min: 100, max: 599 }),
  fc.integer(),
  fc.constantFrom(Number.NaN, -1, 0, 1e300),
);
const errorType = fc.oneof(
  fc.constantFrom(
    'rate_limit_error',
    'overloaded_error',
    'api_error',
    'invalid_request_error',
    'authentication_error',
    'permission_error',
    'not_found_error',
    'billing_error',
    'insufficient_quota',
    'rate_limit_exceeded',
    'server_error',
  ),
  fc.string({ maxLength: 20 }),
);
const message = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    'Your credit balance is too low to access the Anthropic API.',
    'You exceeded your current quota',
    'Overloaded',
    'Rate limit reached',
  ),
);
/** Provider error bodies: the shapes both APIs send, with random fields, and anything at all. */
const body = fc.oneof(
  fc.record({ type: fc.constant('error'), error: fc.record({ type: errorType, message }) }),
  fc.record({
    error: fc.record({
      message,
      type: errorType,
      code: fc.oneof(errorType, fc.constant(null)),
      param: fc.constant(null),
    }),
  }),
  fc.record({ message, code: errorType }),
  fc.anything({ maxDepth: 2 }),
);

describe('fuzz: provider errors', () => {
  it('classifyError never throws and answers a valid kind for SDK errors of any status and body', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('anthropic', 'openai'),
        fc.option(status, { nil: undefined }),
        body,
        headerRecord,
        NOW,
        (sdk, s, b, headers, now) => {
          const h = toHeaders(headers);
          const error =
            sdk === 'anthropic'
              ? Anthropic.APIError.generate(s, b as object, undefined, h)
              : OpenAI.APIError.generate(s, b as object, undefined, h);
          check(error, { sdk, s, b, headers });
          const advice = retryAdvice(error, now);
          if (advice) expect(isWait(advice.delayMs), show({ s, b, headers })).toBe(true);
        },
      ),
      { numRuns: RUNS.fast * 2 },
    );
  });

  it('classifyError never throws for any thrown value: Errors with random fields, objects, primitives', () => {
    const errorLike = fc.oneof(
      fc.anything({ maxDepth: 2 }),
      fc
        .record(
          {
            status,
            statusCode: status,
            code: fc.oneof(errorType, fc.constantFrom('ECONNRESET', 'ETIMEDOUT', 'ABORT_ERR')),
            name: fc.constantFrom('AbortError', 'TimeoutError', 'APIConnectionError', 'Error', ''),
            error: body,
            headers: fc.oneof(headerRecord, fc.anything({ maxDepth: 1 })),
            cause: fc.anything({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        )
        .chain((fields) =>
          fc.boolean().map((asError) => (asError ? Object.assign(new Error('x'), fields) : fields)),
        ),
    );
    fc.assert(
      fc.property(errorLike, NOW, (error, now) => {
        check(error, error);
        const advice = retryAdvice(error, now);
        if (advice) expect(isWait(advice.delayMs), show(error)).toBe(true);
      }),
      { numRuns: RUNS.fast * 2 },
    );
  });
});

function check(error: unknown, input: unknown): void {
  let c: ReturnType<typeof classifyError>;
  try {
    c = classifyError(error);
  } catch (thrown) {
    throw new Error(`classifyError threw ${String(thrown)} for ${show(input)}`, { cause: thrown });
  }
  expect(KINDS, show(input)).toContain(c.kind);
  expect(typeof c.retryable).toBe('boolean');
  expect(typeof c.transient).toBe('boolean');
  expect(typeof c.providerFailure).toBe('boolean');
  if (c.status !== undefined) expect(Number.isFinite(c.status), show(input)).toBe(true);
}
