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

/**
 * The wait queue: KEYS[2] holds the tickets scored by their place (from the counter KEYS[4]),
 * KEYS[3] the same tickets scored by their expiry. A ticket not renewed (its worker died) expires
 * and leaves the queue, so it never blocks the others for longer than its ticket time.
 */
const QUEUE = `
local function dropExpired()
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  if #dead > 0 then
    redis.call('ZREM', KEYS[2], unpack(dead))
    redis.call('ZREM', KEYS[3], unpack(dead))
  end
end
-- The queue keys outlive their latest ticket.
local function keepQueue()
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  if last[2] == nil then
    redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
    return
  end
  local ttl = math.max(0, math.ceil(tonumber(last[2]) - now)) + 1000
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('PEXPIRE', KEYS[4], ttl)
end
local function take(id, leaseMs)
  redis.call('ZADD', KEYS[1], now + leaseMs, id)
  keepKey(leaseMs)
end
`;

/**
 * ARGV: limit, leaseMs, id, ticketMs, enqueue (1|0). Takes a permit if more are free than there
 * are waiters (a newcomer never passes a waiter); otherwise, with enqueue, joins the queue with
 * ticket `id`. Returns 1 (permit taken) or 0.
 */
const ACQUIRE: LuaScript = {
  name: 'semaphore-acquire',
  numberOfKeys: 4,
  source: `${NOW}${QUEUE}
dropExpired()
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if redis.call('ZCARD', KEYS[2]) < free then
  take(ARGV[3], tonumber(ARGV[2]))
  return 1
end
if ARGV[5] == '1' then
  local place = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[2], place, ARGV[3])
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
  keepQueue()
end
return 0`,
};

/**
 * ARGV: limit, leaseMs, ticketMs, ticket... (one worker's waiting tickets). Renews them (a lost
 * ticket queues again, at the back), then turns those among the first `free` waiters into
 * permits. Returns the tickets granted (each now a lease of the same id).
 */
const TAKE_TURN: LuaScript = {
  name: 'semaphore-take-turn',
  numberOfKeys: 4,
  source: `${NOW}${QUEUE}
dropExpired()
local ticketMs = tonumber(ARGV[3])
local mine = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  mine[id] = true
  if not redis.call('ZSCORE', KEYS[2], id) then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), id)
  end
  redis.call('ZADD', KEYS[3], now + ticketMs, id)
end
local granted = {}
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if free > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, free - 1)) do
    if mine[id] then
      redis.call('ZREM', KEYS[2], id)
      redis.call('ZREM', KEYS[3], id)
      take(id, tonumber(ARGV[2]))
      table.insert(granted, id)
    end
  end
end
keepQueue()
return granted`,
};

/** ARGV: ticket. Leaves the queue (an aborted waiter). */
const LEAVE: LuaScript = {
  name: 'semaphore-leave',
  numberOfKeys: 4,
  source: `${NOW}${QUEUE}
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
keepQueue()
return 0`,
};

/** ARGV: none. Live waiters. */
const WAITING: LuaScript = {
  name: 'semaphore-waiting',
  numberOfKeys: 4,
  source: `${NOW}${QUEUE}
dropExpired()
return redis.call('ZCARD', KEYS[2])`,
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
  /**
   * Redis key of the sorted set of leases; every worker using it shares the permits. The wait
   * queue lives in three keys next to it, in the same Cluster slot: `<key>:q`, `<key>:qt`,
   * `<key>:qn` when the key has a hash tag (`{...}`), else `{<key>}:q`, `{<key>}:qt`, `{<key>}:qn`.
   * On a Cluster, a key with a `}` but no hash tag is refused (no sibling shares its slot).
   */
  key: string;
  /** Permits across all workers (an integer >= 1). */
  limit: number;
  /** How long a lease lives unless renewed, in ms (Redis server time). */
  leaseMs: number;
  /**
   * How long a place in the wait queue lives unless its waiter asks again, in ms (Redis server
   * time): a dead worker's waiters hold up the queue for at most this long. Waiters renew their
   * places every time they ask (`takeTurn`), so keep it well above the interval between asks.
   * @default 2000
   */
  ticketMs?: number;
}

const OPTION_KEYS = optionKeys<RedisSemaphoreOptions>({
  redis: true,
  key: true,
  limit: true,
  leaseMs: true,
  ticketMs: true,
});

/**
 * Longest lease or ticket, in ms (about 24.8 days): also the longest timer Node keeps, and far
 * below where Redis's Lua would print the expiry in exponent form, which PEXPIRE refuses.
 */
export const MAX_MS = 2 ** 31 - 1;

/** The hash tag Redis Cluster hashes for `key`, or undefined when it hashes the whole key. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** A key next to `key` that lands in the same Cluster slot, or undefined if none can be made. */
function sibling(key: string, suffix: string): string | undefined {
  if (hashTag(key) !== undefined) return `${key}:${suffix}`;
  // `{key}` hashes `key` itself, unless a '}' inside it would end the tag early.
  if (!key.includes('}')) return `{${key}}:${suffix}`;
  return undefined;
}

/**
 * A cluster-wide counting semaphore: each permit is a lease in a sorted set, scored by its expiry
 * on the Redis server's clock. A holder renews its lease while it works; a crashed holder's lease
 * expires after `leaseMs` and its permit comes back.
 *
 * Waiting is fair across workers: a caller that finds no free permit takes a ticket, numbered by
 * a counter in Redis, and a permit goes to the first tickets in that order (`takeTurn`); a
 * newcomer never takes a permit a waiter is owed. Tickets expire after `ticketMs` unless their
 * waiter asks again, so a dead worker's waiters never block the queue for longer. How often to
 * ask again is the bulkhead's business.
 */
export class RedisSemaphore {
  readonly key: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly ticketMs: number;
  private readonly redis: Redis | Cluster;
  private readonly keys: [string, string, string, string];

  constructor(options: RedisSemaphoreOptions) {
    checkKnownKeys(options, OPTION_KEYS, 'new RedisSemaphore()', { required: true });
    if (typeof options.key !== 'string' || options.key.length === 0) {
      throw new InvalidConfigError('key', 'a non-empty string', options.key);
    }
    if (!(Number.isInteger(options.limit) && options.limit >= 1)) {
      throw new InvalidConfigError('limit', 'an integer >= 1', options.limit);
    }
    if (!(Number.isFinite(options.leaseMs) && options.leaseMs > 0 && options.leaseMs <= MAX_MS)) {
      throw new InvalidConfigError(
        'leaseMs',
        'a positive number of ms up to 2^31 - 1',
        options.leaseMs,
      );
    }
    const ticketMs = options.ticketMs ?? 2000;
    if (!(Number.isFinite(ticketMs) && ticketMs > 0 && ticketMs <= MAX_MS)) {
      throw new InvalidConfigError('ticketMs', 'a positive number of ms up to 2^31 - 1', ticketMs);
    }
    const key = options.key;
    // Outside a Cluster any sibling will do.
    const near = (suffix: string) =>
      sibling(key, suffix) ?? (options.redis.isCluster ? undefined : `${key}:${suffix}`);
    const q = near('q');
    const qt = near('qt');
    const qn = near('qn');
    if (q === undefined || qt === undefined || qn === undefined) {
      throw new InvalidConfigError(
        'key',
        "a key with a hash tag ('{tag}') or without '}' (its queue keys share its Cluster slot)",
        key,
      );
    }
    this.redis = options.redis;
    this.key = key;
    this.keys = [key, q, qt, qn];
    this.limit = options.limit;
    this.leaseMs = Math.ceil(options.leaseMs);
    this.ticketMs = Math.ceil(ticketMs);
  }

  /**
   * Takes a permit if one is free and no waiter is owed it: its lease id, or `undefined`.
   */
  async tryAcquire(): Promise<string | undefined> {
    const id = randomUUID();
    return (await this.acquire(id, false)) ? id : undefined;
  }

  /**
   * Takes a permit if one is free and no waiter is owed it (`{ lease }`); otherwise joins the
   * queue (`{ ticket }`): call {@link takeTurn} with the ticket until it is granted, or
   * {@link leave}.
   */
  async acquireOrQueue(): Promise<{ lease: string } | { ticket: string }> {
    const id = randomUUID();
    return (await this.acquire(id, true)) ? { lease: id } : { ticket: id };
  }

  private async acquire(id: string, enqueue: boolean): Promise<boolean> {
    const args = [this.limit, this.leaseMs, id, this.ticketMs, enqueue ? 1 : 0];
    return Number(await evalScript(this.redis, ACQUIRE, this.keys, args)) === 1;
  }

  /**
   * Renews `tickets` (one worker's waiters, in any order) and grants those whose turn has come:
   * the returned tickets are now leases of the same id. A ticket that had expired queues again,
   * at the back.
   */
  async takeTurn(tickets: readonly string[]): Promise<string[]> {
    if (tickets.length === 0) return [];
    const args = [this.limit, this.leaseMs, this.ticketMs, ...tickets];
    const granted = await evalScript(this.redis, TAKE_TURN, this.keys, args);
    return Array.isArray(granted) ? granted.map(String) : [];
  }

  /** Leaves the queue (the waiter gave up). */
  async leave(ticket: string): Promise<void> {
    await evalScript(this.redis, LEAVE, this.keys, [ticket]);
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

  /** Live waiters across the cluster. */
  async waiting(): Promise<number> {
    return Number(await evalScript(this.redis, WAITING, this.keys, []));
  }
}
