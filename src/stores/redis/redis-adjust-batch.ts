/**
 * Encoding of a batch of refunds and charges for the adjust script: the settles and cancels a
 * RedisStore received in one turn of the event loop, applied in arrival order in one call.
 */

import type { Grant, LimiterSpec } from '../../limiter/store.js';
import { BatchKeys } from './redis-reserve-batch.js';

export interface PendingAdjust {
  readonly kind: 'refund' | 'charge';
  readonly spec: LimiterSpec;
  readonly amountUs: number;
  /** The grant a refund gives back to. */
  readonly grant?: Grant;
  readonly nowUs: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The adjust script's KEYS and ARGV for a batch (see adjustScript). */
export function encodeAdjustBatch(
  batch: readonly PendingAdjust[],
  keyOf: (spec: LimiterSpec) => string,
  head: readonly (string | number)[],
): { keys: string[]; args: (string | number)[] } {
  const keys = new BatchKeys(keyOf);
  const numbers: number[] = [batch.length];
  for (const { kind, spec, amountUs, grant } of batch) {
    numbers.push(kind === 'refund' ? 1 : 2, keys.of(spec), spec.rate.capacityUs, amountUs);
    // A refund of the whole span withdraws the grant (its call never ran).
    numbers.push(grant?.seq ?? 0, grant !== undefined && amountUs >= grant.spanUs ? 1 : 0);
  }
  return keys.command(head, numbers);
}
