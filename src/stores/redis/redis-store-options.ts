/** Options, events and outcome types of RedisStore, with their defaults and validation. */
import type { Clock } from '../../clock.js';
import { InvalidConfigError } from '../../errors/invalid-config-error.js';
import type { ReserveOutcome } from '../../limiter/store.js';
import { checkKnownKeys, optionKeys } from '../../options/check-options.js';
import { PREFIX_PATTERN } from './redis-keys.js';

/** What a RedisStore does when Redis does not answer in time. */
export type OnUnavailable = 'fail-closed' | 'fail-open' | 'local';

export interface RedisStoreOptions {
  /**
   * Key prefix, also the Redis Cluster hash tag of every key of this store (`{prefix}:...`), so a
   * group over the store is atomic on a Cluster. One prefix per budget spreads budgets over
   * shards. 1 to 128 printable ASCII characters, no `{`, `}` or spaces.
   * @default 'llmr'
   */
  prefix?: string;
  /**
   * When Redis does not answer within `timeoutMs`: `'fail-closed'` rejects with
   * `LimiterUnavailableError`; `'fail-open'` admits everything and emits `onUnavailable`;
   * `'local'` limits in this process at the configured rate divided by `localWorkers`, and
   * returns to Redis once it answers, the keys it served re-entered empty at least (no burst).
   * @default 'fail-closed'
   */
  onUnavailable?: OnUnavailable;
  /**
   * Longest wait for one Redis answer, in ms. Beyond it the operation counts as an outage and
   * `onUnavailable` applies, even when ioredis holds the command in its offline queue. From
   * then on, operations do not wait on Redis: one read of this store's slot every
   * `recheckMs` looks for its return.
   * @default 1000
   */
  timeoutMs?: number;
  /**
   * Number of processes that share the budgets, used by `onUnavailable: 'local'` only: each
   * process then admits 1/localWorkers of every rate and burst. An integer >= 1, required with
   * `'local'` (a guess of 1 would let every worker use the whole quota during an outage).
   * @default 1 when `onUnavailable` is not `'local'` (where it is unused)
   */
  localWorkers?: number;
  /**
   * While Redis is unavailable, ms between two checks that it is back (a read of this store's slot).
   * @default 1000
   */
  recheckMs?: number;
  /**
   * Test clock. When given, scripts take their `now` from it instead of Redis `TIME`, so tests
   * can drive Redis and MemoryStore in lockstep. Never set it in production: the server's clock
   * is what keeps workers with skewed clocks from over-admitting.
   */
  clock?: Clock;
}

export type RedisStoreOperation = 'reserve' | 'refund' | 'charge' | 'hold' | 'look';

/** Fired each time an operation was served without Redis (fail-open or local). */
export interface RedisUnavailableEvent {
  readonly operation: RedisStoreOperation;
  readonly mode: Exclude<OnUnavailable, 'fail-closed'>;
  /** Limiter keys of the operation. */
  readonly keys: readonly string[];
  /** Why Redis counts as unavailable (the timeout, or the client's error). */
  readonly error: unknown;
}

/** Fired when Redis answers again after an outage. */
export interface RedisRecoveredEvent {
  /** Whole ms from the first failure to the successful check. */
  readonly downForMs: number;
}

/** A reservation outcome, with the server's clock when Redis decided it. */
export type RedisReserveOutcome = ReserveOutcome & {
  /** Redis `TIME` (or the test clock) at the decision, in µs; absent when served without Redis. */
  readonly serverNowUs?: number;
};

const DEFAULTS = {
  prefix: 'llmr',
  onUnavailable: 'fail-closed' as OnUnavailable,
  timeoutMs: 1000,
  recheckMs: 1000,
};
const OPTION_KEYS = optionKeys<RedisStoreOptions>({
  prefix: true,
  onUnavailable: true,
  timeoutMs: true,
  localWorkers: true,
  recheckMs: true,
  clock: true,
});
const ALIASES = { keyprefix: 'prefix', workers: 'localWorkers', failopen: 'onUnavailable' };

export interface ResolvedOptions {
  readonly prefix: string;
  readonly mode: OnUnavailable;
  readonly timeoutMs: number;
  readonly recheckMs: number;
  readonly localWorkers: number;
}

/** Applies the defaults; throws `InvalidConfigError` naming the option, range and value. */
export function resolveOptions(options: RedisStoreOptions, where: string): ResolvedOptions {
  checkKnownKeys(options, OPTION_KEYS, where, { aliases: ALIASES });
  const prefix = options.prefix ?? DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidConfigError(
      'prefix',
      "1 to 128 printable ASCII characters without '{', '}' or spaces (it is the hash tag)",
      prefix,
    );
  }
  const mode = options.onUnavailable ?? DEFAULTS.onUnavailable;
  if (mode !== 'fail-closed' && mode !== 'fail-open' && mode !== 'local') {
    throw new InvalidConfigError('onUnavailable', "'fail-closed', 'fail-open' or 'local'", mode);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  requireRange('timeoutMs', timeoutMs, 'a number of ms in (0, 60000]', 60_000);
  const recheckMs = options.recheckMs ?? DEFAULTS.recheckMs;
  requireRange('recheckMs', recheckMs, 'a number of ms in (0, 3600000]', 3_600_000);
  const localWorkers = options.localWorkers ?? (mode === 'local' ? undefined : 1);
  if (localWorkers === undefined || !Number.isSafeInteger(localWorkers) || localWorkers < 1) {
    throw new InvalidConfigError(
      'localWorkers',
      "an integer >= 1 (required with onUnavailable: 'local')",
      localWorkers,
    );
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') {
    throw new InvalidConfigError('clock', 'a Clock ({ now(): number } in ms)', options.clock);
  }
  return { prefix, mode, timeoutMs, recheckMs, localWorkers };
}

function requireRange(option: string, value: number, expected: string, max: number): void {
  if (typeof value !== 'number' || !(value > 0) || value > max) {
    throw new InvalidConfigError(option, expected, value);
  }
}
