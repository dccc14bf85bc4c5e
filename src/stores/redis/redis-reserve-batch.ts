/**
 * Encoding of a batch of reservations for the reserve script, and decoding of its reply. A batch
 * is every reservation a RedisStore received in one turn of the event loop: one script call
 * decides them all, in arrival order, which is what several calls arriving back to back at one
 * instant would decide. Fewer round trips and one read and one write per key make it cheaper
 * for Redis and for the client.
 */

import type { LimiterSpec } from '../../limiter/store.js';
import type { RedisReserveOutcome } from './redis-store-options.js';

export interface PendingReserve {
  readonly specs: readonly LimiterSpec[];
  readonly costsUs: readonly number[];
  readonly maxWaitUs: number;
  readonly nowUs: number;
  readonly resolve: (outcome: RedisReserveOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** Largest batch: bounds the script's run time and the reply's size. */
export const MAX_BATCH = 256;

/**
 * The keys of a batch, each once, in the order first met (1-based indices, as Lua counts), with
 * one algorithm letter per key.
 */
export class BatchKeys {
  readonly keys: string[] = [];
  private algorithms = '';
  private readonly index = new Map<string, number>();

  constructor(private readonly keyOf: (spec: LimiterSpec) => string) {}

  /** The 1-based index of a spec's key. */
  of(spec: LimiterSpec): number {
    const key = this.keyOf(spec);
    let k = this.index.get(key);
    if (k === undefined) {
      this.keys.push(key);
      this.algorithms += spec.algorithm === 'gcra' ? 'g' : 't';
      k = this.keys.length;
      this.index.set(key, k);
    }
    return k;
  }

  /** KEYS and ARGV of a batch script: `head`, the numbers as one JSON array, the letters. */
  command(
    head: readonly (string | number)[],
    numbers: readonly number[],
  ): { keys: string[]; args: (string | number)[] } {
    return { keys: this.keys, args: [...head, JSON.stringify(numbers), this.algorithms] };
  }
}

/**
 * The reserve script's KEYS and ARGV for a batch (see reserveScript): every key once, the
 * reservations as one JSON array of numbers, and one algorithm letter per key.
 */
export function encodeBatch(
  batch: readonly PendingReserve[],
  keyOf: (spec: LimiterSpec) => string,
  head: readonly (string | number)[],
): { keys: string[]; args: (string | number)[] } {
  const keys = new BatchKeys(keyOf);
  const numbers: number[] = [batch.length];
  for (const { specs, costsUs, maxWaitUs } of batch) {
    // JSON has no Infinity (it would arrive as null); every wait is below 2^53 µs anyway.
    numbers.push(specs.length, Math.min(maxWaitUs, Number.MAX_SAFE_INTEGER));
    specs.forEach((spec, i) => {
      numbers.push(keys.of(spec), costsUs[i]!, spec.rate.capacityUs);
    });
  }
  return keys.command(head, numbers);
}

export function decodeBatch(
  reply: unknown,
  batch: readonly PendingReserve[],
): RedisReserveOutcome[] {
  if (!Array.isArray(reply) || reply.some((v) => typeof v !== 'number')) {
    throw new Error(`Unexpected reply from the reserve script: ${JSON.stringify(reply)}`);
  }
  const r = reply as number[];
  const at = (i: number): number => {
    const value = r[i];
    if (value === undefined) throw new Error('Reply from the reserve script is too short');
    return value;
  };
  const serverNowUs = at(0);
  let p = 1;
  return batch.map(({ specs, costsUs }) => {
    const granted = at(p) === 1;
    const base = {
      waitUs: at(p + 1),
      index: at(p + 2),
      freeUs: at(p + 3),
      fifoUs: at(p + 4),
      serverNowUs,
    };
    p += 5;
    if (!granted) return { granted: false, ...base };
    const grants = specs.map((_, i) => ({
      seq: at(p + 2 * i),
      costUs: costsUs[i]!,
      spanUs: at(p + 2 * i + 1),
    }));
    p += 2 * specs.length;
    return { granted: true, ...base, grants };
  });
}
