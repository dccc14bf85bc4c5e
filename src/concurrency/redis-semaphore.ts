import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import { evalScript, type LuaScript } from '../redis/eval-script.js';

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- The key outlives its latest lease (whatever leaseMs the other users of the key have).
local function keepKey(leaseMs)
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  local latest = tonumber(last[2] or now)
  redis.call('PEXPIRE', KEYS[1], math.max(0, math.ceil(latest - now)) + leaseMs)
end
`;

/** ARGV: limit, leaseMs, leaseId. Drops expired leases, then takes one if fewer than limit. */
const ACQUIRE: LuaScript = {
  name: 'semaphore-acquire',
  numberOfKeys: 1,
  source: `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  keepKey(tonumber(ARGV[2]))
  return 1
end
return 0`,
};

/** ARGV: leaseMs, leaseId. Extends a live lease; an expired one is never revived (returns 0). */
const RENEW: LuaScript = {
  name: 'semaphore-renew',
  numberOfKeys: 1,
  source: `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if score and tonumber(score) > now then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
  keepKey(tonumber(ARGV[1]))
  return 1
end
return 0`,
};

/** ARGV: none. Live leases. */
const COUNT: LuaScript = {
  name: 'semaphore-count',
  numberOfKeys: 1,
  source: `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])`,
};

export interface RedisSemaphoreOptions {
  /** ioredis client (Redis or Cluster). */
  redis: Redis | Cluster;
  /** Redis key of the sorted set of leases; every worker using it shares the permits. */
  key: string;
  /** Permits across all workers (an integer >= 1). */
  limit: number;
  /** How long a lease lives unless renewed, in ms (Redis server time). */
  leaseMs: number;
}

const OPTION_KEYS = optionKeys<RedisSemaphoreOptions>({
  redis: true,
  key: true,
  limit: true,
  leaseMs: true,
});

/**
 * A cluster-wide counting semaphore: each permit is a lease in a sorted set, scored by its expiry
 * on the Redis server's clock. A holder renews its lease while it works; a crashed holder's lease
 * expires after `leaseMs` and its permit comes back. Acquisition never waits: queueing is the
 * bulkhead's business.
 */
export class RedisSemaphore {
  readonly key: string;
  readonly limit: number;
  readonly leaseMs: number;
  private readonly redis: Redis | Cluster;

  constructor(options: RedisSemaphoreOptions) {
    checkKnownKeys(options, OPTION_KEYS, 'new RedisSemaphore()', { required: true });
    if (typeof options.key !== 'string' || options.key.length === 0) {
      throw new InvalidConfigError('key', 'a non-empty string', options.key);
    }
    if (!(Number.isInteger(options.limit) && options.limit >= 1)) {
      throw new InvalidConfigError('limit', 'an integer >= 1', options.limit);
    }
    if (!(Number.isFinite(options.leaseMs) && options.leaseMs > 0)) {
      throw new InvalidConfigError('leaseMs', 'a positive finite number of ms', options.leaseMs);
    }
    this.redis = options.redis;
    this.key = options.key;
    this.limit = options.limit;
    this.leaseMs = Math.ceil(options.leaseMs);
  }

  /** Takes a permit if one is free: its lease id, or `undefined` when all are held. */
  async tryAcquire(): Promise<string | undefined> {
    const id = randomUUID();
    const ok = await evalScript(this.redis, ACQUIRE, [this.key], [this.limit, this.leaseMs, id]);
    return Number(ok) === 1 ? id : undefined;
  }

  /** Extends a lease by `leaseMs`; `false` if it had already expired (the permit is lost). */
  async renew(leaseId: string): Promise<boolean> {
    return Number(await evalScript(this.redis, RENEW, [this.key], [this.leaseMs, leaseId])) === 1;
  }

  /** Gives a permit back. */
  async release(leaseId: string): Promise<void> {
    await this.redis.zrem(this.key, leaseId);
  }

  /** Live leases across the cluster. */
  async count(): Promise<number> {
    return Number(await evalScript(this.redis, COUNT, [this.key], []));
  }
}
