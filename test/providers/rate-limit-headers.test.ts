import { describe, expect, it } from 'vitest';
import { readRateLimitHeaders } from '../../src/providers/rate-limit-headers.js';
import { parseRfc3339 } from '../../src/retry/retry-after.js';

describe('readRateLimitHeaders', () => {
  it('reads Anthropic headers as observed (2025-02), resets as instants', () => {
    const headers = new Headers({
      'anthropic-ratelimit-requests-limit': '4000',
      'anthropic-ratelimit-requests-remaining': '3999',
      'anthropic-ratelimit-requests-reset': '2025-02-24T22:24:31Z',
      'anthropic-ratelimit-input-tokens-limit': '80000',
      'anthropic-ratelimit-input-tokens-remaining': '78000',
      'anthropic-ratelimit-input-tokens-reset': '2025-02-24T22:25:30Z',
      'anthropic-ratelimit-output-tokens-limit': '16000',
      'anthropic-ratelimit-output-tokens-remaining': '12000',
      'anthropic-ratelimit-output-tokens-reset': '2025-02-24T22:25:45Z',
      'anthropic-ratelimit-tokens-limit': '96000',
      'anthropic-ratelimit-tokens-remaining': '90000',
      'anthropic-ratelimit-tokens-reset': '2025-02-24T22:25:30Z',
      'request-id': 'req_011CSHoEeqs5C35K2UUqR7Fy',
    });
    const at = (t: string) => parseRfc3339(t) as number;
    expect(readRateLimitHeaders('anthropic', headers, 0)).toEqual({
      requests: { limit: 4000, remaining: 3999, resetAtMs: at('2025-02-24T22:24:31Z') },
      'input-tokens': { limit: 80_000, remaining: 78_000, resetAtMs: at('2025-02-24T22:25:30Z') },
      'output-tokens': { limit: 16_000, remaining: 12_000, resetAtMs: at('2025-02-24T22:25:45Z') },
      tokens: { limit: 96_000, remaining: 90_000, resetAtMs: at('2025-02-24T22:25:30Z') },
    });
    expect(at('2025-02-24T22:25:30Z')).toBe(Date.UTC(2025, 1, 24, 22, 25, 30));
  });

  it('reads OpenAI headers, the documented sample, resets counted from nowMs', () => {
    const now = 1_700_000_000_000;
    const headers = {
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '6m0s',
    };
    expect(readRateLimitHeaders('openai', headers, now)).toEqual({
      requests: { limit: 60, remaining: 59, resetAtMs: now + 1000 },
      tokens: { limit: 150_000, remaining: 149_984, resetAtMs: now + 360_000 },
    });
    const fast = readRateLimitHeaders('openai', { 'x-ratelimit-reset-tokens': '20ms' }, now);
    expect(fast.tokens).toEqual({ resetAtMs: now + 20 });
  });

  it("leaves out what is absent or unreadable (a 429 without headers, Azure's -1)", () => {
    expect(readRateLimitHeaders('openai', new Headers({ 'x-request-id': 'req_1' }), 0)).toEqual({});
    expect(
      readRateLimitHeaders(
        'openai',
        {
          'x-ratelimit-limit-tokens': '-1',
          'x-ratelimit-remaining-tokens': '0',
          'x-ratelimit-reset-tokens': 'soon',
        },
        0,
      ),
    ).toEqual({ tokens: { remaining: 0 } });
    expect(
      readRateLimitHeaders('anthropic', { 'anthropic-ratelimit-requests-reset': 'tomorrow' }, 0),
    ).toEqual({});
  });
});
