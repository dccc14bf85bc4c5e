import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import { Limiter, type LimiterBaseOptions } from './limiter.js';
import { LimiterGroup } from './limiter-group.js';
import { makeRate } from './rate.js';

export interface GcraOptions extends LimiterBaseOptions {
  /** Units admitted per period (requests, or tokens). A positive integer. */
  limit: number;
  /** Length of the period in ms (e.g. 60_000 for "per minute"); whole µs. */
  periodMs: number;
  /**
   * Units admissible at one instant; a cost above it is refused with
   * `CostExceedsCapacityError`. Smaller values smooth traffic, `limit` matches a provider's
   * bucket (which starts full).
   * @default limit
   */
  burst?: number;
}

/**
 * A GCRA limiter: `limit` units per `periodMs`, spread evenly (one unit every periodMs/limit),
 * with up to `burst` units at once.
 */
export function gcra(options: GcraOptions): Limiter {
  checkKnownKeys(options, GCRA_KEYS, 'gcra()', { aliases: GCRA_ALIASES, required: true });
  const { limit, periodMs } = options;
  requirePositive('limit', limit);
  requirePositive('periodMs', periodMs);
  const periodUs = periodMs * 1000;
  if (!Number.isSafeInteger(periodUs)) {
    throw new InvalidConfigError('periodMs', 'a whole number of microseconds', periodMs);
  }
  if (!Number.isSafeInteger(limit)) {
    throw new InvalidConfigError('limit', 'a positive integer', limit);
  }
  const burst = options.burst ?? limit;
  if (!Number.isSafeInteger(burst) || burst < 1) {
    throw new InvalidConfigError('burst', 'an integer >= 1', burst);
  }
  return new Limiter('gcra', makeRate(limit, periodUs, burst), options);
}

export interface TokenBucketOptions extends LimiterBaseOptions {
  /** Tokens the bucket holds when full; also the largest admissible cost. A positive integer. */
  capacity: number;
  /** Tokens added per second, continuously. A positive number (fractions down to 1e-6). */
  refillPerSecond: number;
}

/** A token bucket of `capacity` tokens refilled continuously at `refillPerSecond`. */
export function tokenBucket(options: TokenBucketOptions): Limiter {
  checkKnownKeys(options, TOKEN_BUCKET_KEYS, 'tokenBucket()', {
    aliases: TOKEN_BUCKET_ALIASES,
    required: true,
  });
  const { capacity, refillPerSecond } = options;
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new InvalidConfigError('capacity', 'an integer >= 1', capacity);
  }
  requirePositive('refillPerSecond', refillPerSecond);
  // refillPerSecond as the exact ratio limit / periodUs, rounding the rate down (never faster).
  let scale = 1;
  while (scale < 1e6 && !Number.isInteger(refillPerSecond * scale)) scale *= 10;
  const limit = Math.floor(refillPerSecond * scale);
  if (limit < 1) {
    throw new InvalidConfigError('refillPerSecond', 'a number >= 0.000001', refillPerSecond);
  }
  const divisor = gcd(limit, 1_000_000 * scale);
  return new Limiter(
    'token-bucket',
    makeRate(limit / divisor, (1_000_000 * scale) / divisor, capacity),
    options,
  );
}

/**
 * Several limiters acquired all-or-nothing: `acquire([1, inputTokens, maxTokens])` charges each
 * its own cost at one start time, or nothing at all.
 */
export function limiterGroup(limiters: readonly Limiter[]): LimiterGroup {
  return new LimiterGroup(limiters);
}

const BASE_KEYS = { key: true, name: true, store: true, clock: true } as const satisfies {
  readonly [K in keyof Required<LimiterBaseOptions>]: true;
};
const GCRA_KEYS = optionKeys<GcraOptions>({
  ...BASE_KEYS,
  limit: true,
  periodMs: true,
  burst: true,
});
const TOKEN_BUCKET_KEYS = optionKeys<TokenBucketOptions>({
  ...BASE_KEYS,
  capacity: true,
  refillPerSecond: true,
});
/** What other rate limiters call these options. */
const GCRA_ALIASES = {
  rate: 'limit',
  max: 'limit',
  points: 'limit',
  period: 'periodMs',
  duration: 'periodMs',
  interval: 'periodMs',
  capacity: 'burst',
};
const TOKEN_BUCKET_ALIASES = {
  size: 'capacity',
  burst: 'capacity',
  rate: 'refillPerSecond',
  refillrate: 'refillPerSecond',
  tokenspersecond: 'refillPerSecond',
};

function requirePositive(option: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidConfigError(option, 'a positive finite number', value);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
