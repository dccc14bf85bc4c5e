/**
 * When a refused response stops the budget: Anthropic's spend cap until 00:00 UTC on the 1st of
 * next month, another quota refusal until its retry-after or for one period, and never for a
 * plain rate limit or a client error. Bodies as PROVIDERS.md records them.
 */
import { describe, expect, it } from 'vitest';
import { refusalResumeAt } from '../../src/pipeline/quota-stop.js';

const NOW = Date.UTC(2026, 10, 30, 13, 0, 0); // 2026-11-30T13:00Z
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('refusalResumeAt', () => {
  it("Anthropic's spend cap stops until the 1st of next month, UTC", async () => {
    const spendCap = json(429, {
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message: 'You have reached your monthly spend limit.',
        details: { error_code: 'enforced_spend_limit_reached' },
      },
    });
    expect(await refusalResumeAt(spendCap, NOW, 60_000)).toBe(Date.UTC(2026, 11, 1));
    const december = Date.UTC(2026, 11, 31, 23, 59);
    const again = json(429, { error: { details: { error_code: 'enforced_spend_limit_reached' } } });
    expect(await refusalResumeAt(again, december, 60_000)).toBe(Date.UTC(2027, 0, 1));
  });

  it('insufficient_quota stops for its retry-after, or one period when it states none', async () => {
    const body = {
      error: {
        message: 'You exceeded your current quota',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      },
    };
    expect(await refusalResumeAt(json(429, body), NOW, 60_000)).toBe(NOW + 60_000);
    expect(await refusalResumeAt(json(429, body, { 'retry-after': '120' }), NOW, 60_000)).toBe(
      NOW + 120_000,
    );
  });

  it('a rate limit, a client error or an unreadable body stops nothing', async () => {
    const rateLimit = json(429, {
      type: 'error',
      error: { type: 'rate_limit_error', message: 'slow down' },
    });
    const invalid = json(400, {
      type: 'error',
      error: { type: 'invalid_request_error', message: 'bad' },
    });
    const garbled = new Response('<html>busy</html>', { status: 429 });
    for (const response of [rateLimit, invalid, garbled]) {
      expect(await refusalResumeAt(response, NOW, 60_000)).toBeUndefined();
    }
    expect(
      await refusalResumeAt(json(500, { error: { type: 'insufficient_quota' } }), NOW, 60_000),
    ).toBeUndefined();
  });
});
