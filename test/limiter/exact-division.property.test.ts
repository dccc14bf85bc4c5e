/**
 * rate.ts divides in floating point and corrects by one (a remainder on numbers above 2^31 is a
 * library call, and cost a tenth of an in-process tryAcquire). Property: over the safe range,
 * and around exact multiples where a rounded quotient lands on the next integer, both divisions
 * equal BigInt's exact answer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ceilDiv, floorDiv } from '../../src/limiter/rate.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500) * 20;

function exact(a: number, b: number): { floor: number; ceil: number } {
  const x = BigInt(a);
  const y = BigInt(b);
  return { floor: Number(x / y), ceil: Number((x + y - 1n) / y) };
}

describe('exact integer division', () => {
  it('equals BigInt division over the safe range', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        expect({ floor: floorDiv(a, b), ceil: ceilDiv(a, b) }).toEqual(exact(a, b));
      }),
      { numRuns: RUNS },
    );
  });

  it('equals BigInt division next to exact multiples, large quotients included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 0, max: 2 ** 22 }),
        fc.integer({ min: -3, max: 3 }),
        (b, q, d) => {
          const a = q * b + d;
          fc.pre(a >= 0 && a <= Number.MAX_SAFE_INTEGER);
          expect({ floor: floorDiv(a, b), ceil: ceilDiv(a, b) }).toEqual(exact(a, b));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
