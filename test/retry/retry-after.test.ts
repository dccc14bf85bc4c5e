import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { headerLookup } from '../../src/providers/error-shape.js';
import {
  MAX_ADVICE_MS,
  parseDuration,
  parseHttpDate,
  parseResetTimestamp,
  parseRetryAfter,
  parseRetryAfterMs,
  parseRfc3339,
  retryAdvice,
  retryAdviceFromHeaders,
} from '../../src/retry/retry-after.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

describe('header parsers', () => {
  it('retry-after-ms is milliseconds', () => {
    expect(parseRetryAfterMs('1500')).toBe(1500);
    expect(parseRetryAfterMs(' 20.5 ')).toBe(20.5);
    expect(parseRetryAfterMs('-1')).toBeUndefined();
    expect(parseRetryAfterMs('abc')).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
  });

  it('retry-after is seconds or an HTTP date', () => {
    expect(parseRetryAfter('3', NOW)).toBe(3000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 15-Jan-25 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Wed Jan 15 12:00:10 2025', NOW)).toBe(10_000);
    // a date in the past means "now"
    expect(parseRetryAfter('Tue, 14 Jan 2025 12:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('Wed, 32 Jan 2025 12:00:30 GMT', NOW)).toBeUndefined();
  });

  it('HTTP and RFC 3339 dates agree with Date.parse', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (seconds) => {
        const d = new Date(seconds * 1000);
        expect(parseHttpDate(d.toUTCString())).toBe(d.getTime());
        expect(parseRfc3339(d.toISOString())).toBe(d.getTime());
      }),
    );
    expect(parseRfc3339('2025-01-15T14:00:30.250+02:00')).toBe(NOW + 30_250);
    expect(parseRfc3339('2025-02-29T00:00:00Z')).toBeUndefined();
  });

  it('Go durations as OpenAI sends them', () => {
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('6m0s')).toBe(360_000);
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseDuration('12')).toBe(12_000);
    expect(parseDuration('1x')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
    expect(parseDuration('s')).toBeUndefined();
  });

  it('Anthropic reset timestamps become delays from now', () => {
    expect(parseResetTimestamp('2025-01-15T12:00:07Z', NOW)).toBe(7000);
    expect(parseResetTimestamp('2025-01-15T11:00:00Z', NOW)).toBe(0);
  });
});

describe('property: any string gives a finite non-negative delay or no advice', () => {
  const interesting = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^[0-9.eE+-]{0,30}$/),
    fc.stringMatching(/^([0-9.]{1,20}(h|m|s|ms|us|ns)){0,6}$/),
    fc.constantFrom('1e400', '9'.repeat(400), 'Infinity', 'NaN', '-0', '1e308', '0x10', '  7  '),
  );
  const check = (v: number | undefined) =>
    v === undefined || (Number.isFinite(v) && v >= 0 && v <= MAX_ADVICE_MS);

  it('holds for every parser and for whole header sets', () => {
    fc.assert(
      fc.property(interesting, fc.integer({ min: 0, max: 4_102_444_800_000 }), (s, now) => {
        expect(check(parseRetryAfterMs(s))).toBe(true);
        expect(check(parseRetryAfter(s, now))).toBe(true);
        expect(check(parseDuration(s))).toBe(true);
        expect(check(parseResetTimestamp(s, now))).toBe(true);
        const headers = headerLookup({
          'retry-after': s,
          'x-ratelimit-reset-tokens': s,
          'anthropic-ratelimit-requests-reset': s,
        });
        const advice = retryAdviceFromHeaders(headers, now);
        expect(advice === undefined || check(advice.delayMs)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('retryAdvice from real SDK errors', () => {
  it('prefers retry-after-ms over retry-after', () => {
    const err = Anthropic.APIError.generate(
      429,
      { type: 'error', error: { type: 'rate_limit_error', message: 'x' } },
      undefined,
      new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }),
    );
    expect(retryAdvice(err, NOW)).toEqual({ delayMs: 250, source: 'retry-after-ms' });
  });

  it('reads the exhausted OpenAI dimension', () => {
    const err = OpenAI.APIError.generate(
      429,
      { error: { message: 'x', type: 'tokens', code: 'rate_limit_exceeded' } },
      undefined,
      new Headers({
        'x-ratelimit-remaining-requests': '10',
        'x-ratelimit-reset-requests': '6m0s',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '1.5s',
      }),
    );
    expect(retryAdvice(err, NOW)).toEqual({ delayMs: 1500, source: 'x-ratelimit-reset' });
  });

  it('gives no advice when every dimension still has room', () => {
    const err = OpenAI.APIError.generate(
      500,
      { error: { message: 'x', type: 'server_error', code: null } },
      undefined,
      new Headers({ 'x-ratelimit-remaining-requests': '10', 'x-ratelimit-reset-requests': '1s' }),
    );
    expect(retryAdvice(err, NOW)).toBeUndefined();
  });

  it('reads Anthropic reset timestamps for the exhausted dimension', () => {
    const err = Anthropic.APIError.generate(
      429,
      { type: 'error', error: { type: 'rate_limit_error', message: 'x' } },
      undefined,
      new Headers({
        'anthropic-ratelimit-requests-remaining': '40',
        'anthropic-ratelimit-requests-reset': '2025-01-15T12:00:59Z',
        'anthropic-ratelimit-output-tokens-remaining': '0',
        'anthropic-ratelimit-output-tokens-reset': '2025-01-15T12:00:04Z',
      }),
    );
    expect(retryAdvice(err, NOW)).toEqual({ delayMs: 4000, source: 'anthropic-ratelimit-reset' });
  });

  it('reads Gemini RetryInfo from the error body', () => {
    const body = {
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' }],
      },
    };
    const err = Object.assign(new Error(JSON.stringify(body)), { name: 'ApiError', status: 429 });
    expect(retryAdvice(err, NOW)).toEqual({ delayMs: 12_000, source: 'retry-info' });
    const legacy = Object.assign(new Error('[429 Too Many Requests]'), {
      status: 429,
      errorDetails: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }],
    });
    expect(retryAdvice(legacy, NOW)?.delayMs).toBe(1500);
  });

  it('reads a plain fetch Response', () => {
    const res = new Response(null, { status: 503, headers: { 'Retry-After': '4' } });
    expect(retryAdvice(res, NOW)).toEqual({ delayMs: 4000, source: 'retry-after' });
    expect(retryAdvice(new TypeError('x'), NOW)).toBeUndefined();
  });
});
