/**
 * Learns how far a workload's input estimates sit from the provider's real counts, and corrects
 * the next estimates by it. The only way to get close to Claude's private tokenizer without a
 * network call: compare each estimate with the usage the response reports. Pure: no clock.
 */
import { InvalidConfigError } from '../errors/invalid-config-error.js';

export interface EstimateCalibrationOptions {
  /**
   * Weight of the past against each new observation, per observation, in (0, 1): the factor is
   * sum(actual) / sum(estimate) with each older pair weighed by `decay` once more. @default 0.9
   */
  readonly decay?: number;
  /** The smallest factor applied. @default 0.5 */
  readonly minFactor?: number;
  /** The largest factor applied. @default 3 */
  readonly maxFactor?: number;
}

export const ESTIMATE_CALIBRATION_DEFAULTS = { decay: 0.9, minFactor: 0.5, maxFactor: 3 } as const;

export class EstimateCalibration {
  private actual = 0;
  private estimated = 0;
  private readonly decay: number;
  private readonly minFactor: number;
  private readonly maxFactor: number;

  constructor(options: EstimateCalibrationOptions = {}) {
    const { decay, minFactor, maxFactor } = { ...ESTIMATE_CALIBRATION_DEFAULTS, ...options };
    if (!(decay > 0 && decay < 1))
      throw new InvalidConfigError('decay', 'a number in (0, 1)', decay);
    if (!(minFactor > 0 && Number.isFinite(minFactor)))
      throw new InvalidConfigError('minFactor', 'a finite number > 0', minFactor);
    if (!(maxFactor >= minFactor && Number.isFinite(maxFactor)))
      throw new InvalidConfigError(
        'maxFactor',
        `a finite number >= minFactor (${minFactor})`,
        maxFactor,
      );
    this.decay = decay;
    this.minFactor = minFactor;
    this.maxFactor = maxFactor;
  }

  /** actual / estimate learned so far, within [minFactor, maxFactor]; 1 before any observation. */
  get factor(): number {
    if (this.estimated <= 0) return 1;
    return Math.min(this.maxFactor, Math.max(this.minFactor, this.actual / this.estimated));
  }

  /** An estimate corrected by the factor, rounded up. */
  adjust(estimate: number): number {
    return Math.ceil(estimate * this.factor);
  }

  /**
   * Records one request: its uncorrected estimate and the prompt tokens the provider counted
   * (`usage.totalInputTokens`). Non-finite or non-positive pairs are ignored.
   */
  observe(estimate: number, actual: number): void {
    if (!(estimate > 0 && actual >= 0 && Number.isFinite(estimate) && Number.isFinite(actual)))
      return;
    this.estimated = this.estimated * this.decay + estimate;
    this.actual = this.actual * this.decay + actual;
  }
}
