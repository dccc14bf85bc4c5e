import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseRfc3339 } from '../../src/retry/retry-after.js';
import {
  formatGoDuration,
  formatRfc3339,
  retryAfterSeconds,
} from '../../src/simulator/durations.js';

describe('Go durations (OpenAI x-ratelimit-reset-*)', () => {
  it.each([
    [0, '0s'],
    [20, '20ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [8640, '8.64s'],
    [360_000, '6m0s'],
    [179_560, '2m59.56s'],
    [3_723_004, '1h2m3.004s'],
  ])('formats %d ms as %s and parses it back', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  it('formats negative durations as 0s', () => {
    expect(formatGoDuration(-5)).toBe('0s');
  });

  it('parses what Go prints, including sub-millisecond units', () => {
    expect(parseDuration('300us')).toBeCloseTo(0.3);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('0')).toBe(0);
    for (const bad of ['', 's', '1x', '1s2', 'abc', '1.2.3s'])
      expect(parseDuration(bad)).toBeUndefined();
  });

  it('round-trips every whole-millisecond duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 * 3_600_000 }), (ms) => {
        expect(parseDuration(formatGoDuration(ms))).toBe(ms);
      }),
    );
  });
});

describe('RFC 3339 instants (Anthropic anthropic-ratelimit-*-reset)', () => {
  it('formats whole seconds in UTC, rounding up', () => {
    expect(formatRfc3339(Date.UTC(2026, 0, 6, 18, 25, 50))).toBe('2026-01-06T18:25:50Z');
    expect(formatRfc3339(Date.UTC(2026, 0, 6, 18, 25, 50) + 1)).toBe('2026-01-06T18:25:51Z');
  });

  it('round-trips to the next whole second, never earlier', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        const text = formatRfc3339(ms);
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const parsed = parseRfc3339(text) ?? Number.NaN;
        expect(parsed).toBe(Math.ceil(ms / 1000) * 1000);
        expect(parsed - ms).toBeGreaterThanOrEqual(0);
        expect(parsed - ms).toBeLessThan(1000);
      }),
    );
  });

  it('refuses what is not RFC 3339', () => {
    expect(parseRfc3339('Mon, 23 Nov 2026 11:40:13 GMT')).toBeUndefined();
    expect(parseRfc3339('2026-13-45T99:00:00Z')).toBeUndefined();
  });
});

describe('retry-after seconds', () => {
  it('rounds up and is at least 1 when there is any wait', () => {
    expect(retryAfterSeconds(0)).toBe(0);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });
});
