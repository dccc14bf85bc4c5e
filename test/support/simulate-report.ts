/**
 * What a `simulate` run writes, checked the same way wherever it is run (the CLI from source, the
 * installed bin of the packed tarball): the JSON's shape as the CLI issue names it, and an SVG
 * that parses as a chart.
 */
import { DOMParser } from 'linkedom';
import { expect } from 'vitest';

const REPORT_KEYS = ['scenario', 'provider', 'quota', 'workers', 'inFlightPerWorker', 'durationS'];
const STRATEGY_KEYS = [
  'name',
  'requests',
  'succeeded',
  'provider429',
  'billedRequests',
  'goodputRatio',
  'p50LatencyMs',
  'p95LatencyMs',
  'fairness',
];

/** Every field present, the strategies `names` in order; returns the strategies. */
export function expectReportShape(
  report: Record<string, unknown>,
  names: readonly string[],
): Record<string, number | string | object>[] {
  for (const key of REPORT_KEYS) expect(report).toHaveProperty(key);
  const strategies = report.strategies as Record<string, unknown>[];
  expect(strategies.map((s) => s.name)).toEqual(names);
  for (const s of strategies) for (const key of STRATEGY_KEYS) expect(s).toHaveProperty(key);
  return strategies as Record<string, number | string | object>[];
}

/** The shape, and figures that hold together for strategies that each completed calls. */
export function expectReport(
  report: Record<string, unknown>,
  names: readonly string[],
): Record<string, number | string>[] {
  const strategies = expectReportShape(report, names) as Record<string, number | string>[];
  for (const s of strategies) {
    const n = s as Record<string, number>;
    expect(n.requests).toBeGreaterThanOrEqual(n.succeeded!);
    expect(n.succeeded).toBeGreaterThan(0);
    expect(n.billedRequests).toBeGreaterThanOrEqual(n.provider429!);
    for (const ratio of [n.goodputRatio!, n.fairness!]) {
      expect(ratio).toBeGreaterThanOrEqual(0);
      expect(ratio).toBeLessThanOrEqual(1);
    }
    expect(n.p95LatencyMs).toBeGreaterThanOrEqual(n.p50LatencyMs!);
  }
  return strategies;
}

/** An SVG document with drawn paths that names the strategy `name` and the 429s. */
export function expectSvgChart(text: string, name: string): void {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement as unknown as {
    tagName: string;
    getAttribute(name: string): string | null;
    querySelectorAll(selector: string): { length: number };
  };
  expect(root.tagName.toLowerCase()).toBe('svg');
  expect(root.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
  expect(text).toContain(name);
  expect(text).toContain('provider 429s');
  expect(root.querySelectorAll('path').length).toBeGreaterThan(0);
}
