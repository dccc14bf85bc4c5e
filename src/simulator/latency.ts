import type { LatencyModel } from './options.js';
import type { Random } from './rng.js';

export interface ResponseTiming {
  /** Wait before the first token, in ms. */
  readonly firstTokenMs: number;
  /** Wait per output token after the first, in ms. */
  readonly perTokenMs: number;
}

/** Draws one response's timing from the seeded model: each time spread uniformly in ±jitter. */
export function drawTiming(random: Random, model: Required<LatencyModel>): ResponseTiming {
  const spread = () => 1 + model.jitter * (2 * random() - 1);
  return {
    firstTokenMs: model.firstTokenMs * spread(),
    perTokenMs: model.perTokenMs * spread(),
  };
}
