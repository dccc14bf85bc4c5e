/**
 * What a store remembers of the limiters on each key, to refuse a second limiter with other
 * limits (`LimiterKeyConflictError`). A key's claim lasts while a limiter holding it lives: limiters
 * made per tenant, or per test, and dropped, do not pin their keys for the life of the process.
 */
import { LimiterKeyConflictError } from '../errors/limiter-key-conflict-error.js';
import type { LimiterSpec } from '../limiter/store.js';

interface Claim {
  readonly spec: LimiterSpec;
  /** Limiters holding the claim that are still alive. */
  owners: number;
}

export class KeyClaims {
  private readonly claims = new Map<string, Claim>();
  private readonly released = new FinalizationRegistry<{ key: string; claim: Claim }>(
    ({ key, claim }) => {
      if (--claim.owners === 0 && this.claims.get(key) === claim) this.claims.delete(key);
    },
  );

  /**
   * Records that `owner` (a limiter) uses `spec` on its key, or throws when a live limiter uses
   * other limits there. Keys are compared whatever the algorithm: `gcra` and `tokenBucket` on one
   * key are one budget described twice.
   */
  claim(spec: LimiterSpec, owner: object): void {
    let claim = this.claims.get(spec.key);
    if (claim !== undefined && !sameLimits(claim.spec, spec)) {
      throw new LimiterKeyConflictError(spec.key, describeLimits(claim.spec), describeLimits(spec));
    }
    if (claim === undefined) {
      claim = { spec, owners: 0 };
      this.claims.set(spec.key, claim);
    }
    claim.owners++;
    this.released.register(owner, { key: spec.key, claim });
  }
}

/** Same algorithm, same burst and the same rate however written (600/min is 10/s). */
function sameLimits(a: LimiterSpec, b: LimiterSpec): boolean {
  return (
    a.algorithm === b.algorithm &&
    a.rate.burst === b.rate.burst &&
    // Products of two safe integers: exact as bigints only.
    BigInt(a.rate.limit) * BigInt(b.rate.periodUs) ===
      BigInt(b.rate.limit) * BigInt(a.rate.periodUs)
  );
}

/** Limits as the factory's options read: `gcra: 50 per 60000 ms, burst 5`. */
export function describeLimits({ algorithm, rate }: LimiterSpec): string {
  if (algorithm === 'gcra') {
    return `gcra: ${rate.limit} per ${rate.periodUs / 1000} ms, burst ${rate.burst}`;
  }
  const perSecond = Math.round((rate.limit * 1e6 * 1e6) / rate.periodUs) / 1e6;
  return `token-bucket: capacity ${rate.burst}, refill ${perSecond}/s`;
}
