import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isInvalidConfigError } from '../../src/errors/index.js';
import { EstimateCalibration } from '../../src/providers/estimate-calibration.js';
import {
  ANTHROPIC_PROFILE,
  CL100K_PROFILE,
  cl100kTokenEstimator,
  estimateTextTokens,
  measureTextTokens,
  O200K_PROFILE,
  openaiEstimatorFor,
  openaiTokenEstimator,
} from '../../src/providers/text-tokens.js';

/** Texts the fit never saw, with their o200k_base counts (measured with gpt-tokenizer 4.0.0). */
const MEASURED: readonly (readonly [string, string, number])[] = [
  [
    'english',
    'Could you draft a short, friendly reminder to the team that the quarterly report is due on Friday, and ask them to flag any blockers by Wednesday afternoon?',
    31,
  ],
  [
    'code',
    'export function clamp(value: number, min: number, max: number): number {\n  if (Number.isNaN(value)) throw new RangeError(`value is NaN`);\n  return Math.min(max, Math.max(min, value));\n}\n',
    49,
  ],
  [
    'json',
    '{"user":{"id":48213,"name":"Mina Park","roles":["admin","billing"],"lastLogin":"2026-10-31T17:04:11Z"},"flags":{"beta":true,"quota":250000}}',
    50,
  ],
  ['chinese', '请把下面这段会议记录整理成待办事项清单,每一项都写明负责人和截止日期。', 26],
  [
    'russian',
    'Пожалуйста, составь краткое письмо команде с напоминанием о сроках сдачи квартального отчёта.',
    27,
  ],
];

describe('estimateTextTokens', () => {
  it.each(MEASURED)('o200k profile: %s within -10%% / +25%% of the real count', (_, text, real) => {
    const estimate = estimateTextTokens(text, O200K_PROFILE);
    expect(estimate).toBeGreaterThanOrEqual(Math.floor(real * 0.9));
    expect(estimate).toBeLessThanOrEqual(Math.ceil(real * 1.25));
  });

  it('the Anthropic profile errs above o200k and cl100k everywhere', () => {
    for (const [, text] of MEASURED) {
      expect(estimateTextTokens(text, ANTHROPIC_PROFILE)).toBeGreaterThan(
        estimateTextTokens(text, O200K_PROFILE),
      );
      expect(estimateTextTokens(text, ANTHROPIC_PROFILE)).toBeGreaterThanOrEqual(
        estimateTextTokens(text, CL100K_PROFILE),
      );
    }
  });

  it('is a whole number, 0 for the empty string, at least 1 for any visible character', () => {
    expect(estimateTextTokens('', O200K_PROFILE)).toBe(0);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (text) => {
        const estimate = estimateTextTokens(text, O200K_PROFILE);
        expect(Number.isInteger(estimate)).toBe(true);
        if (/\S/u.test(text)) expect(estimate).toBeGreaterThanOrEqual(1);
        expect(estimate).toBe(Math.ceil(measureTextTokens(text, O200K_PROFILE)));
      }),
    );
  });

  it('grows with the text: repeating a text never costs fewer tokens', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), (text) => {
        expect(measureTextTokens(`${text}\n${text}`, O200K_PROFILE)).toBeGreaterThanOrEqual(
          measureTextTokens(text, O200K_PROFILE),
        );
      }),
    );
  });

  it('splits camelCase identifiers into words and numbers into groups of three', () => {
    expect(measureTextTokens('retryAfterMs', O200K_PROFILE)).toBeCloseTo(3 * O200K_PROFILE.word);
    expect(measureTextTokens('1234567', O200K_PROFILE)).toBeCloseTo(3 * O200K_PROFILE.digitGroup);
  });

  it('picks cl100k for gpt-4 and gpt-3.5, o200k for gpt-4o and later', () => {
    expect(openaiEstimatorFor('gpt-4-turbo')).toBe(cl100kTokenEstimator);
    expect(openaiEstimatorFor('gpt-3.5-turbo')).toBe(cl100kTokenEstimator);
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-5', 'o3', undefined])
      expect(openaiEstimatorFor(model)).toBe(openaiTokenEstimator);
  });
});

describe('EstimateCalibration', () => {
  it('learns the ratio of real to estimated tokens, weighing tokens, not requests', () => {
    const calibration = new EstimateCalibration();
    expect(calibration.factor).toBe(1);
    expect(calibration.adjust(100)).toBe(100);
    for (let i = 0; i < 50; i++) calibration.observe(1000, 1300);
    expect(calibration.factor).toBeCloseTo(1.3, 5);
    expect(calibration.adjust(100)).toBe(130);
    // A tiny request that missed by far moves the factor little.
    calibration.observe(10, 30);
    expect(calibration.factor).toBeGreaterThan(1.29);
    expect(calibration.factor).toBeLessThan(1.31);
  });

  it('keeps the factor within its bounds and ignores nonsense', () => {
    const calibration = new EstimateCalibration({ minFactor: 0.8, maxFactor: 2 });
    calibration.observe(100, 1000);
    expect(calibration.factor).toBe(2);
    calibration.observe(Number.NaN, 5);
    calibration.observe(0, 5);
    calibration.observe(100, -1);
    expect(calibration.factor).toBe(2);
    const low = new EstimateCalibration({ minFactor: 0.8, maxFactor: 2 });
    low.observe(1000, 10);
    expect(low.factor).toBe(0.8);
  });

  it('refuses bad options, naming the option and the range', () => {
    for (const options of [
      { decay: 1 },
      { decay: 0 },
      { minFactor: 0 },
      { minFactor: 2, maxFactor: 1 },
    ]) {
      let error: unknown;
      try {
        new EstimateCalibration(options);
      } catch (e) {
        error = e;
      }
      expect(isInvalidConfigError(error)).toBe(true);
      expect(String((error as Error).message)).toMatch(/Factor|decay/);
    }
  });
});
