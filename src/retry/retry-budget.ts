import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import { evalScript, type LuaScript } from '../redis/eval-script.js';

/**
 * Caps retries to a share of recent calls so that a provider outage cannot turn into a retry
 * storm: over the last `windowMs`, at most `minRetries + ratio * calls` retries are allowed, where
 * `calls` counts logical calls (first attempts).
 */
export interface RetryBudget {
  /** Counts one logical call (its first attempt). Never rejects. */
  recordCall(): Promise<void>;
  /** Spends one retry if the budget allows it; `false` when it is exhausted. Never rejects. */
  tryRetry(): Promise<boolean>;
  /** Calls and retries counted over the current window. */
  inspect(): Promise<RetryBudgetSnapshot>;
  /** The counts seen by the last operation (no I/O), if any. */
  readonly lastSeen?: RetryBudgetSnapshot | undefined;
}

export interface RetryBudgetSnapshot {
  calls: number;
  retries: number;
  /** Retries the budget allows over the window at this call count. */
  allowed: number;
}

export interface RetryBudgetOptions {
  /**
   * Share of recent calls that may be retried, 0..1.
   * @default 0.2
   */
  ratio?: number;
  /**
   * Length of the sliding window, in ms.
   * @default 10_000
   */
  windowMs?: number;
  /**
   * Retries always allowed per window, whatever the traffic (so a quiet service can still retry).
   * @default 5
   */
  minRetries?: number;
  /**
   * Number of buckets the window is split into (its resolution).
   * @default 10
   */
  buckets?: number;
}

export interface MemoryRetryBudgetOptions extends RetryBudgetOptions {
  /** Time source. @default systemClock */
  clock?: Clock;
}

export interface RedisRetryBudgetOptions extends RetryBudgetOptions {
  /** ioredis client (Redis or Cluster). */
  redis: Redis | Cluster;
  /** Redis key of the budget (a hash); every worker using the same key shares one budget. */
  key: string;
}

export const RETRY_BUDGET_DEFAULTS = {
  ratio: 0.2,
  windowMs: 10_000,
  minRetries: 5,
  buckets: 10,
} as const;

const BUDGET_KEYS = {
  ratio: true,
  windowMs: true,
  minRetries: true,
  buckets: true,
} as const satisfies { readonly [K in keyof Required<RetryBudgetOptions>]: true };
const MEMORY_KEYS = optionKeys<MemoryRetryBudgetOptions>({ ...BUDGET_KEYS, clock: true });
const REDIS_KEYS = optionKeys<RedisRetryBudgetOptions>({ ...BUDGET_KEYS, redis: true, key: true });
const ALIASES = { percent: 'ratio', window: 'windowMs', minretriespersec: 'minRetries' };

interface ResolvedBudget {
  ratio: number;
  bucketMs: number;
  buckets: number;
  minRetries: number;
}

function resolve(options: RetryBudgetOptions): ResolvedBudget {
  const ratio = options.ratio ?? RETRY_BUDGET_DEFAULTS.ratio;
  const windowMs = options.windowMs ?? RETRY_BUDGET_DEFAULTS.windowMs;
  const minRetries = options.minRetries ?? RETRY_BUDGET_DEFAULTS.minRetries;
  const buckets = options.buckets ?? RETRY_BUDGET_DEFAULTS.buckets;
  if (!(Number.isFinite(ratio) && ratio >= 0 && ratio <= 1)) {
    throw new InvalidConfigError('ratio', 'a number in [0, 1]', ratio);
  }
  if (!(Number.isFinite(windowMs) && windowMs > 0)) {
    throw new InvalidConfigError('windowMs', 'a positive finite number of ms', windowMs);
  }
  if (!(Number.isInteger(minRetries) && minRetries >= 0)) {
    throw new InvalidConfigError('minRetries', 'an integer >= 0', minRetries);
  }
  if (!(Number.isInteger(buckets) && buckets >= 1 && buckets <= 1000)) {
    throw new InvalidConfigError('buckets', 'an integer in [1, 1000]', buckets);
  }
  return { ratio, bucketMs: Math.max(1, Math.ceil(windowMs / buckets)), buckets, minRetries };
}

const allowedRetries = (b: ResolvedBudget, calls: number) => b.minRetries + b.ratio * calls;

/** A retry budget for one process. */
export class MemoryRetryBudget implements RetryBudget {
  private readonly budget: ResolvedBudget;
  private readonly clock: Clock;
  private readonly counts = new Map<number, { calls: number; retries: number }>();
  lastSeen: RetryBudgetSnapshot | undefined;

  constructor(options: MemoryRetryBudgetOptions = {}) {
    checkKnownKeys(options, MEMORY_KEYS, 'new MemoryRetryBudget()', { aliases: ALIASES });
    this.budget = resolve(options);
    this.clock = options.clock ?? systemClock;
  }

  private current(): {
    calls: number;
    retries: number;
    bucket: { calls: number; retries: number };
  } {
    const now = Math.floor(this.clock.now() / this.budget.bucketMs);
    let calls = 0;
    let retries = 0;
    for (const [index, c] of this.counts) {
      if (index <= now - this.budget.buckets) this.counts.delete(index);
      else {
        calls += c.calls;
        retries += c.retries;
      }
    }
    let bucket = this.counts.get(now);
    if (!bucket) {
      bucket = { calls: 0, retries: 0 };
      this.counts.set(now, bucket);
    }
    return { calls, retries, bucket };
  }

  private seen(calls: number, retries: number): RetryBudgetSnapshot {
    this.lastSeen = { calls, retries, allowed: allowedRetries(this.budget, calls) };
    return this.lastSeen;
  }

  async recordCall(): Promise<void> {
    const { calls, retries, bucket } = this.current();
    bucket.calls++;
    this.seen(calls + 1, retries);
  }

  async tryRetry(): Promise<boolean> {
    const { calls, retries, bucket } = this.current();
    if (retries + 1 > allowedRetries(this.budget, calls)) {
      this.seen(calls, retries);
      return false;
    }
    bucket.retries++;
    this.seen(calls, retries + 1);
    return true;
  }

  async inspect(): Promise<RetryBudgetSnapshot> {
    const { calls, retries } = this.current();
    return this.seen(calls, retries);
  }
}

/**
 * One hash per budget: fields `c:<bucket>` and `r:<bucket>`, buckets numbered by the Redis
 * server's clock (TIME), so workers with skewed clocks agree. Stale buckets are pruned on access.
 * ARGV: op ('call' | 'retry' | 'read'), bucketMs, buckets, ratio, minRetries.
 * Returns { ok, calls, retries }.
 */
const RETRY_BUDGET_SCRIPT: LuaScript = {
  name: 'retry-budget',
  numberOfKeys: 1,
  source: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bucketMs = tonumber(ARGV[2])
local nb = tonumber(ARGV[3])
local cur = math.floor(now / bucketMs)
local all = redis.call('HGETALL', KEYS[1])
local calls, retries = 0, 0
for i = 1, #all, 2 do
  local f = all[i]
  local b = tonumber(string.sub(f, 3))
  local v = tonumber(all[i + 1])
  if b == nil or b <= cur - nb then
    redis.call('HDEL', KEYS[1], f)
  elseif string.sub(f, 1, 1) == 'c' then
    calls = calls + v
  else
    retries = retries + v
  end
end
local ok = 1
if ARGV[1] == 'call' then
  redis.call('HINCRBY', KEYS[1], 'c:' .. cur, 1)
  calls = calls + 1
elseif ARGV[1] == 'retry' then
  local allowed = tonumber(ARGV[5]) + tonumber(ARGV[4]) * calls
  if retries + 1 <= allowed then
    redis.call('HINCRBY', KEYS[1], 'r:' .. cur, 1)
    retries = retries + 1
  else
    ok = 0
  end
end
redis.call('PEXPIRE', KEYS[1], bucketMs * (nb + 1))
return { ok, calls, retries }
`,
};

/**
 * A retry budget shared by every worker through Redis (one Lua call per operation). If Redis
 * cannot be reached, `tryRetry()` answers `false` (no retry: the safe side during an outage) and
 * `recordCall()` does nothing.
 */
export class RedisRetryBudget implements RetryBudget {
  private readonly budget: ResolvedBudget;
  private readonly redis: Redis | Cluster;
  readonly key: string;
  lastSeen: RetryBudgetSnapshot | undefined;

  constructor(options: RedisRetryBudgetOptions) {
    checkKnownKeys(options, REDIS_KEYS, 'new RedisRetryBudget()', {
      aliases: ALIASES,
      required: true,
    });
    this.budget = resolve(options);
    if (typeof options.key !== 'string' || options.key.length === 0) {
      throw new InvalidConfigError('key', 'a non-empty string', options.key);
    }
    this.redis = options.redis;
    this.key = options.key;
  }

  private async run(op: 'call' | 'retry' | 'read'): Promise<[number, number, number]> {
    const b = this.budget;
    const reply = (await evalScript(
      this.redis,
      RETRY_BUDGET_SCRIPT,
      [this.key],
      [op, b.bucketMs, b.buckets, String(b.ratio), b.minRetries],
    )) as [number, number, number];
    const [, calls, retries] = reply;
    this.lastSeen = { calls, retries, allowed: allowedRetries(b, calls) };
    return reply;
  }

  async recordCall(): Promise<void> {
    try {
      await this.run('call');
    } catch {
      // Counting is best effort; the call itself must not fail because of it.
    }
  }

  async tryRetry(): Promise<boolean> {
    try {
      const [ok] = await this.run('retry');
      return ok === 1;
    } catch {
      return false;
    }
  }

  async inspect(): Promise<RetryBudgetSnapshot> {
    await this.run('read');
    return this.lastSeen as RetryBudgetSnapshot;
  }
}
