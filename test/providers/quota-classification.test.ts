/**
 * Errors that must stop the budget, not be retried (issue 11), and the issue 13 defect: the
 * classification reads the provider's structured fields, never words the caller wrote.
 */
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  firstOfNextMonthUtc,
  nextMidnightPacific,
  quotaResumeAt,
  quotaStop,
} from '../../src/providers/classify.js';

const anthropicError = (status: number, error: Record<string, unknown>, headers = {}) =>
  Anthropic.APIError.generate(
    status,
    { type: 'error', error, request_id: 'req_011CXQugkT1ZmWRCq9gdSrAa' },
    undefined,
    new Headers(headers),
  );
const openaiError = (status: number, error: Record<string, unknown>) =>
  OpenAI.APIError.generate(status, { error: { param: null, ...error } }, undefined, new Headers());

const CREDIT_SENTENCE =
  'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.';

describe('a 400 that quotes quota words is the caller’s error (issue 13)', () => {
  it.each([
    `messages.0.content.0.text: the support macro "${CREDIT_SENTENCE}" is not allowed here`,
    'prompt is too long: 210000 tokens > 200000 maximum. User text: credit balance is too low',
    `system: ${CREDIT_SENTENCE}`,
    'Your credit balance is too low',
  ])('400 invalid_request_error %j is a client error', (message) => {
    const error = anthropicError(400, { type: 'invalid_request_error', message });
    expect(classifyError(error)).toMatchObject({ kind: 'client', retryable: false });
    expect(quotaStop(error, 0)).toBeUndefined();
  });

  it('the API’s own credit-balance answer is still a quota error', () => {
    const error = anthropicError(400, { type: 'invalid_request_error', message: CREDIT_SENTENCE });
    expect(classifyError(error)).toMatchObject({ kind: 'quota', retryable: false });
    expect(quotaStop(error, 0)).toEqual({ reason: 'billing' });
  });

  it('an OpenAI 400 quoting "exceeded your current quota" is a client error', () => {
    const error = openaiError(400, {
      type: 'invalid_request_error',
      code: null,
      message:
        "Invalid 'messages[0].content': You exceeded your current quota (insufficient_quota)",
    });
    expect(classifyError(error).kind).toBe('client');
  });
});

describe('quota errors are never retried and say until when', () => {
  const SPEND_CAP = {
    type: 'rate_limit_error',
    message: 'Your organization has reached its monthly spend limit.',
    details: { error_code: 'enforced_spend_limit_reached' },
  };

  it('Anthropic’s spend-cap 429 is quota even with x-should-retry: true; it resumes on the 1st UTC', () => {
    const error = anthropicError(429, SPEND_CAP, { 'x-should-retry': 'true' });
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(classifyError(error)).toMatchObject({
      kind: 'quota',
      retryable: false,
      transient: false,
      providerFailure: false,
      shouldRetryHeader: true,
    });
    const now = Date.UTC(2026, 11, 31, 23, 59, 59);
    expect(quotaStop(error, now)).toEqual({ reason: 'spend-cap', resumeAt: Date.UTC(2027, 0, 1) });
    expect(quotaResumeAt(error, Date.UTC(2026, 1, 14))).toBe(Date.UTC(2026, 2, 1));
    // A rate-limit 429 without the code is not a quota error.
    const plain = anthropicError(429, { type: 'rate_limit_error', message: 'x', details: null });
    expect(classifyError(plain).kind).toBe('rate-limit');
    expect(quotaResumeAt(plain, now)).toBeUndefined();
  });

  it.each([
    'insufficient_quota',
    'credit_balance_exhausted',
    'organization_spend_limit_exceeded',
    'project_spend_limit_exceeded',
    'organization_usage_limit_exceeded',
    'billing_not_active',
  ])('OpenAI 429 code %s is quota with no stated end', (code) => {
    const error = openaiError(429, { type: 'requests', code, message: 'x' });
    expect(classifyError(error)).toMatchObject({ kind: 'quota', retryable: false });
    expect(quotaStop(error, 0)).toEqual({ reason: 'billing' });
  });

  // The 2026-07-17 free-tier body of PROVIDERS.md §3.2, as @google/genai throws it.
  const gemini = (violations: Record<string, unknown>[]) =>
    Object.assign(
      new Error(
        JSON.stringify({
          error: {
            code: 429,
            message: 'You exceeded your current quota, please check your plan and billing details.',
            status: 'RESOURCE_EXHAUSTED',
            details: [
              { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations },
              { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
            ],
          },
        }),
      ),
      { name: 'ApiError', status: 429 },
    );
  const metric = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';

  it('a Gemini PerDay violation is quota until midnight Pacific; PerMinute a rate limit', () => {
    const daily = gemini([
      { quotaMetric: metric, quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' },
      { quotaMetric: metric, quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' },
    ]);
    expect(classifyError(daily)).toMatchObject({ kind: 'quota', retryable: false });
    // 2026-07-17 10:00 PDT: next midnight is 2026-07-18 07:00 UTC.
    expect(quotaResumeAt(daily, Date.UTC(2026, 6, 17, 17))).toBe(Date.UTC(2026, 6, 18, 7));
    const perMinute = gemini([
      { quotaMetric: metric, quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' },
    ]);
    expect(classifyError(perMinute)).toMatchObject({ kind: 'rate-limit', retryable: true });
    expect(quotaStop(perMinute, 0)).toBeUndefined();
  });

  it('a Gemini quota of 0 is quota with no stated end (no wait admits anything)', () => {
    const zero = gemini([
      {
        quotaMetric: metric,
        quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
        quotaValue: '0',
      },
    ]);
    expect(classifyError(zero)).toMatchObject({ kind: 'quota', retryable: false });
    expect(quotaStop(zero, 0)).toEqual({ reason: 'daily-quota' });
  });
});

describe('the calendar of quota resets', () => {
  it('first of next month UTC matches Date.UTC for any instant (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2200, 0, 1) }), (now) => {
        const d = new Date(now);
        expect(firstOfNextMonthUtc(now)).toBe(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    // Winter: PST is UTC-8.
    [Date.UTC(2026, 0, 15, 12), Date.UTC(2026, 0, 16, 8)],
    // 2026-03-07 21:00 PST, the night DST starts: midnight is still PST.
    [Date.UTC(2026, 2, 8, 5), Date.UTC(2026, 2, 8, 8)],
    // 2026-03-08 05:00 PDT: the next midnight is PDT (UTC-7).
    [Date.UTC(2026, 2, 8, 12), Date.UTC(2026, 2, 9, 7)],
    // 2026-11-01 01:00 PDT, the day DST ends: the next midnight is PST.
    [Date.UTC(2026, 10, 1, 8), Date.UTC(2026, 10, 2, 8)],
    // Exactly midnight PST: the next one, a day later.
    [Date.UTC(2026, 0, 16, 8), Date.UTC(2026, 0, 17, 8)],
  ])('next midnight Pacific after %i is %i', (now, expected) => {
    expect(nextMidnightPacific(now)).toBe(expected);
  });
});
