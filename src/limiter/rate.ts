/**
 * Exact integer rate arithmetic shared by the GCRA and token-bucket math and mirrored by the Lua
 * scripts. A rate is `limit` units per `periodUs` microseconds; one unit occupies periodUs/limit
 * µs of schedule, which is rarely a whole number, so every charge is rounded *up* to whole µs.
 * Rounding up can only under-admit (by under 1 µs of schedule per admission), never over-admit,
 * and keeps every state an integer so memory and Redis agree bit for bit.
 */
import { InvalidConfigError } from '../errors/invalid-config-error.js';

/** Validated, precomputed parameters of one rate. All fields are safe integers. */
export interface Rate {
  /** Units per period. */
  readonly limit: number;
  /** Period in microseconds. */
  readonly periodUs: number;
  /** Units admissible at one instant. */
  readonly burst: number;
  /** Schedule span of `burst` units, in µs: `costUs(burst)`. */
  readonly capacityUs: number;
  /** floor(periodUs / limit), kept for the split multiplication in `costUs`. */
  readonly quotientUs: number;
  /** periodUs mod limit. */
  readonly remainderUs: number;
}

const MAX = Number.MAX_SAFE_INTEGER;

/** Validates and precomputes a rate; throws `InvalidConfigError` naming the field. */
export function makeRate(limit: number, periodUs: number, burst: number): Rate {
  requirePositiveInteger('limit', limit);
  requirePositiveInteger('period', periodUs);
  requirePositiveInteger('burst', burst);
  const quotientUs = Math.floor(periodUs / limit);
  const remainderUs = periodUs - quotientUs * limit;
  // Every intermediate product of costUs(c <= burst) and unitsIn(us <= capacity) must stay an
  // exact integer; a quarter of the safe range leaves room for schedules running ahead.
  const capacityUs = burst * quotientUs + ceilDiv(burst * remainderUs, limit);
  if (burst * remainderUs > MAX / 4 || capacityUs * limit > MAX / 4 || capacityUs > MAX / 4) {
    throw new InvalidConfigError(
      'burst',
      `burst × period (µs) below ${Math.floor(MAX / 4)} so the arithmetic stays exact; use a shorter period`,
      burst,
    );
  }
  return { limit, periodUs, burst, quotientUs, remainderUs, capacityUs };
}

/** µs of schedule that `cost` units occupy: ceil(cost × periodUs / limit), exactly. */
export function costUs(rate: Omit<Rate, 'capacityUs'>, cost: number): number {
  return cost * rate.quotientUs + ceilDiv(cost * rate.remainderUs, rate.limit);
}

/** Largest whole number of units whose `costUs` fits in `us` µs of schedule. */
export function unitsIn(rate: Rate, us: number): number {
  if (us <= 0) return 0;
  // costUs(c) <= us  <=>  c × periodUs <= us × limit  <=>  c <= floor(us × limit / periodUs)
  return floorDiv(us * rate.limit, rate.periodUs);
}

/**
 * Units of a rate counted in `unit`s of the caller's (budget.ts: a power of ten for very large
 * limits) that `units` occupy, rounded up.
 */
export function rateUnits(d: { readonly unit: number }, units: number): number {
  return d.unit === 1 ? units : ceilDiv(units, d.unit);
}

/*
 * Both divisions below divide in floating point and then correct by one: the quotient rounded
 * to the nearest double is never further than one from the exact one's floor or ceiling, and the
 * products compared are exact within the quarter of the safe range rate.ts keeps every figure in.
 * The remainder operator they replace is a library call on numbers above 2^31 and cost a tenth
 * of an in-process `tryAcquire`. Negative arguments (no caller passes one) keep the old formula,
 * which rounds toward zero.
 */

/** ceil(a / b) for non-negative safe integers, exact (no float division rounding). */
export function ceilDiv(a: number, b: number): number {
  if (a < 0) {
    const r = a % b;
    return (a - r) / b + (r > 0 ? 1 : 0);
  }
  const q = Math.ceil(a / b);
  return q * b < a ? q + 1 : (q - 1) * b >= a ? q - 1 : q;
}

/** floor(a / b) for non-negative safe integers, exact. */
export function floorDiv(a: number, b: number): number {
  if (a < 0) return (a - (a % b)) / b;
  const q = Math.floor(a / b);
  return q * b > a ? q - 1 : (q + 1) * b <= a ? q + 1 : q;
}

function requirePositiveInteger(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigError(field, 'a positive integer', value);
  }
}
