/**
 * What `llm-resilience inspect` reads from Redis: the shared limiters (RedisStore keys), the
 * pipelines' shared budgets (RedisBudgetStore keys) and the shared circuits, found with SCAN
 * (never KEYS) and read through their own code (the stores' `look`, SharedCircuitStore.read), so
 * this file never decodes a state by hand.
 *
 * A limiter's limit is not kept in Redis (its workers hold it), so `limit` and `available` come
 * only with `limits` naming it; the rest (next slot, hold, how far the schedule runs ahead) is
 * read from Redis alone. A pipeline's budget records its limits beside its queues
 * (RedisBudgetStore's `recordedLimits`), so budgets show them unless `limits` says otherwise.
 */
import type { Redis } from 'ioredis';
import { type CircuitFailure, scrubSecrets } from '../circuit/circuit-snapshot.js';
import { SharedCircuitStore } from '../circuit/shared-circuit.js';
import { isLimiterUnavailableError } from '../errors/limiter-unavailable-error.js';
import type { AlgorithmName } from '../limiter/algorithms.js';
import { availableUnits, timesOf } from '../limiter/limiter-group.js';
import { costUs, makeRate, type Rate } from '../limiter/rate.js';
import type { LimiterSpec } from '../limiter/store.js';
import { RedisBudgetStore } from '../stores/redis/redis-budget-store.js';
import { RedisStore } from '../stores/redis/redis-store.js';

export interface LimiterState {
  /** The Redis key. */
  readonly redisKey: string;
  /** The RedisStore's prefix (the key's hash tag). */
  readonly prefix: string;
  readonly algorithm: AlgorithmName;
  /** The limiter's key, as its workers named it. */
  readonly name: string;
  /** Units per period and units admissible now; only when the limit was given. */
  readonly limit?: number;
  readonly periodMs?: number;
  readonly available?: number;
  /** ms until the limiter is full again; only when the limit was given. */
  readonly resetAfterMs?: number;
  /** ms until the latest granted start (nothing new starts before it). */
  readonly nextSlotMs: number;
  /** ms until the latest hold (a provider's 429) ends. */
  readonly heldForMs: number;
  /** GCRA: ms the schedule runs ahead of now (0 when idle). */
  readonly aheadMs?: number;
  /** ms until Redis drops the key (it then equals a fresh one). */
  readonly ttlMs: number;
}

/** One dimension of a pipeline's budget kept by a RedisBudgetStore (`redis` of a pipeline). */
export interface BudgetState {
  readonly redisKey: string;
  readonly prefix: string;
  /** The budget key's name: `<key>:<provider>:<model class>[:tenant:<tenant>]:<dimension>`. */
  readonly name: string;
  /** Read from a pipeline's name, when it is one. */
  readonly budget?: string;
  readonly provider?: string;
  readonly modelClass?: string;
  readonly tenant?: string;
  readonly dimension?: string;
  /** From the budget's record in Redis, or from the limits given; absent when neither has it. */
  readonly limit?: number;
  readonly periodMs?: number;
  readonly available?: number;
  /** ms until one unit is admissible (0: now); with the limit only. */
  readonly nextSlotMs?: number;
  /** Where `limit` came from: the budget's record in Redis, or the limits given to inspect. */
  readonly limitSource?: 'recorded' | 'given';
  /**
   * The budget's configured limit (times `utilization`), as recorded: `limit` is below it after
   * the provider's headers reported a lower limit, or after an adaptive cut.
   */
  readonly configuredLimit?: number;
  /** `limit / configuredLimit`: 1 unless the limit was lowered. */
  readonly adaptive?: number;
  /**
   * Calls waiting in the queue for this dimension; not the tickets past their claim grace (a dead
   * worker's), which the next operation on the key drops.
   */
  readonly queued: number;
  /** ms until the latest hold (a provider's 429) ends. */
  readonly heldForMs: number;
  readonly ttlMs: number;
}

export interface CircuitState {
  readonly key: string;
  /** `half-open` while one worker's probe is out. */
  readonly state: 'closed' | 'open' | 'half-open';
  readonly msSinceChange: number;
  /** ms until a probe may go out; 0 when due (open only). */
  readonly msUntilHalfOpen: number;
  /** Times the circuit opened (or re-opened after a failed probe). */
  readonly epoch: number;
  readonly lastFailure?: CircuitFailure;
}

export interface InspectSnapshot {
  /** ISO time of the reading. */
  readonly at: string;
  readonly limiters: readonly LimiterState[];
  /** The provider pipelines' shared budgets, one entry per dimension. */
  readonly budgets: readonly BudgetState[];
  readonly circuits: readonly CircuitState[];
  /** Keys named like ours whose content the library's scripts refused (another program's). */
  readonly unreadable: readonly { readonly redisKey: string; readonly reason: string }[];
}

/** A limit given on the command line: matches keys whose name, or last `:` part, is `name`. */
export interface GivenLimit {
  readonly name: string;
  readonly limit: number;
  readonly periodMs: number;
}

export interface InspectOptions {
  /** Only keys whose name (or Redis key) contains this. */
  readonly key?: string;
  readonly limits?: readonly GivenLimit[];
  /** Keys asked of SCAN per call. @default 1000 */
  readonly scanCount?: number;
}

const LIMITER_KEY = /^\{([^}]+)\}:(g|t):(.*)$/;
const BUDGET_KEY = /^\{([^}]+)\}:q:(.*)$/;
/** A budget key's limits record, beside its queue (RedisBudgetStore's `limitsKeyOf`). */
const BUDGET_LIMITS_KEY = /^\{([^}]+)\}:l:(.*)$/;

/** Reads every shared limiter and circuit once. */
export async function inspectRedis(
  redis: Redis,
  options: InspectOptions = {},
): Promise<InspectSnapshot> {
  const found = await scanKeys(redis, options.scanCount ?? 1000);
  const wanted = (key: string, name: string) =>
    options.key === undefined || name.includes(options.key) || key.includes(options.key);
  const stores = new Map<string, RedisStore>();
  const budgetStores = new Map<string, RedisBudgetStore>();
  const limiters: LimiterState[] = [];
  const budgets: BudgetState[] = [];
  const circuits: CircuitState[] = [];
  const unreadable: { redisKey: string; reason: string }[] = [];
  // One key that is not what its name says must not hide the others.
  const read = async <T>(key: string, reader: () => Promise<T | undefined>, into: T[]) => {
    try {
      const state = await reader();
      if (state !== undefined) into.push(state);
    } catch (error) {
      if (isLimiterUnavailableError(error)) throw error;
      const reason = scrubSecrets(String((error as Error).message ?? error)).slice(0, 200);
      unreadable.push({ redisKey: key, reason });
    }
  };
  const readBudgetKey = async (prefix: string, encoded: string, key: string): Promise<void> => {
    const name = decodeKeyName(encoded);
    // A pipeline's budget name is URI-encoded inside the key's name: match the decoded one too.
    const budget = name === undefined ? undefined : pipelineParts(name).budget;
    if (name === undefined || !(wanted(key, name) || (budget !== undefined && wanted(key, budget))))
      return;
    let store = budgetStores.get(prefix);
    if (store === undefined) {
      store = new RedisBudgetStore(redis, { prefix });
      budgetStores.set(prefix, store);
    }
    const s = store;
    const given = options.limits ?? [];
    await read(key, () => readBudget(redis, s, key, prefix, name, given), budgets);
  };
  const present = new Set(found);
  for (const key of found) {
    const match = LIMITER_KEY.exec(key);
    if (match) {
      const [, prefix, kind, encoded] = match as unknown as [string, string, string, string];
      const name = decodeKeyName(encoded);
      if (name === undefined || !wanted(key, name)) continue;
      let store = stores.get(prefix);
      if (store === undefined) {
        store = new RedisStore(redis, { prefix });
        stores.set(prefix, store);
      }
      const algorithm = kind === 'g' ? 'gcra' : 'token-bucket';
      const limits = options.limits ?? [];
      const s = store;
      await read(key, () => readLimiter(redis, s, key, prefix, algorithm, name, limits), limiters);
      continue;
    }
    const queue = BUDGET_KEY.exec(key);
    if (queue) {
      await readBudgetKey(queue[1]!, queue[2]!, key);
      continue;
    }
    const record = BUDGET_LIMITS_KEY.exec(key);
    if (record) {
      // A queue that expired (its bucket full again) still shows, full, while its record lives.
      const queueKey = `{${record[1]}}:q:${record[2]}`;
      if (!present.has(queueKey)) await readBudgetKey(record[1]!, record[2]!, queueKey);
      continue;
    }
    if (!wanted(key, key)) continue;
    await read(key, () => readCircuit(redis, key), circuits);
  }
  limiters.sort((a, b) => a.redisKey.localeCompare(b.redisKey));
  budgets.sort((a, b) => a.redisKey.localeCompare(b.redisKey));
  circuits.sort((a, b) => a.key.localeCompare(b.key));
  return { at: new Date().toISOString(), limiters, budgets, circuits, unreadable };
}

/** Every key, by SCAN: one cursor at a time, never KEYS (which blocks the server). */
async function scanKeys(redis: Redis, count: number): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', count);
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
}

async function readLimiter(
  redis: Redis,
  store: RedisStore,
  redisKey: string,
  prefix: string,
  algorithm: AlgorithmName,
  name: string,
  limits: readonly GivenLimit[],
): Promise<LimiterState | undefined> {
  if ((await redis.type(redisKey)) !== 'string') return undefined;
  const given = limitFor(name, limits);
  // Without the limit, a stand-in rate of one unit a minute: what is read below does not
  // depend on it, except `available`, which is then not reported.
  const rate: Rate = given
    ? makeRate(given.limit, Math.round(given.periodMs * 1000), given.limit)
    : makeRate(1, 60_000_000, 1);
  const spec: LimiterSpec = { key: name, algorithm, rate };
  if (store.keyOf(spec) !== redisKey) return undefined; // not a name this store would write
  const [look, ttlMs] = await Promise.all([store.look(spec, 0), redis.pttl(redisKey)]);
  const base = {
    redisKey,
    prefix,
    algorithm,
    name,
    nextSlotMs: look.fifoUs / 1000,
    heldForMs: look.heldUs / 1000,
    ...(algorithm === 'gcra' && { aheadMs: Math.max(0, rate.capacityUs - look.freeUs) / 1000 }),
    ttlMs: Math.max(0, ttlMs),
  };
  if (!given) return base;
  return {
    ...base,
    limit: given.limit,
    periodMs: given.periodMs,
    available: availableUnits(rate, look),
    resetAfterMs: timesOf(rate, look).resetAfterMs,
  };
}

/** The limit given for a key: by its whole name, or by its last `:` part (`rpm`, `itpm`...). */
function limitFor(name: string, limits: readonly GivenLimit[]): GivenLimit | undefined {
  const last = name.slice(name.lastIndexOf(':') + 1);
  return limits.find((l) => l.name === name) ?? limits.find((l) => l.name === last);
}

/**
 * One dimension of a budget: its queue read through the store, with the limit recorded beside it
 * (or given). A queue key that has expired (its bucket full again), before SCAN or between SCAN
 * and this read, is read as the full bucket it stands for, when a limit is known for it.
 */
async function readBudget(
  redis: Redis,
  store: RedisBudgetStore,
  redisKey: string,
  prefix: string,
  name: string,
  limits: readonly GivenLimit[],
): Promise<BudgetState | undefined> {
  const type = await redis.type(redisKey);
  if (type !== 'string' && type !== 'none') return undefined;
  if (store.keyOf(name) !== redisKey) return undefined;
  const given = limitFor(name, limits);
  const recorded = given ? undefined : await store.recordedLimits(name);
  if (type === 'none' && given === undefined && recorded === undefined) return undefined;
  // Without a limit, a stand-in rate whose bucket holds 1 µs: `available` and `nextSlotMs` are
  // then not reported, and a waiting ticket is judged due from the latest start it could have (a
  // bucket holds at least its cost), so only tickets certainly past their claim grace are left
  // out of `queued`.
  const rate = given
    ? makeRate(given.limit, Math.round(given.periodMs * 1000), given.limit)
    : (recorded?.rate ?? makeRate(1, 1, 1));
  const unit = recorded?.unit ?? 1;
  const [look, ttlMs] = await Promise.all([
    store.look({ key: name, rate, lagUs: 0 }, 0),
    redis.pttl(redisKey),
  ]);
  const known = given ?? recorded;
  return {
    redisKey,
    prefix,
    name,
    ...pipelineParts(name),
    ...(known && {
      limit: known.limit,
      periodMs: known.periodMs,
      available:
        look.queued > 0 ? 0 : availableUnits(rate, { freeUs: look.freeUs, fifoUs: 0 }) * unit,
      nextSlotMs: Math.max(0, costUs(rate, 1) - look.freeUs) / 1000,
      limitSource: given ? ('given' as const) : ('recorded' as const),
    }),
    ...(recorded && {
      configuredLimit: recorded.configured,
      adaptive: Math.round((recorded.limit / recorded.configured) * 1000) / 1000,
    }),
    queued: look.queued,
    heldForMs: look.heldUs / 1000,
    ttlMs: Math.max(0, ttlMs),
  };
}

/** `<key>:<provider>:<class>[:tenant:<tenant>]:<dimension>`, as the pipelines name budgets. */
function pipelineParts(name: string): Partial<BudgetState> {
  const parts = name.split(':');
  const decode = (s: string | undefined) => {
    try {
      return s === undefined ? undefined : decodeURIComponent(s);
    } catch {
      return undefined;
    }
  };
  if (parts.length === 4 || (parts.length === 6 && parts[3] === 'tenant')) {
    const [budget, provider, modelClass] = parts.map(decode);
    const tenant = parts.length === 6 ? decode(parts[4]) : undefined;
    if (budget === undefined || provider === undefined || modelClass === undefined) return {};
    return {
      budget,
      provider,
      modelClass,
      ...(tenant !== undefined && { tenant }),
      dimension: parts[parts.length - 1]!,
    };
  }
  return {};
}

async function readCircuit(redis: Redis, key: string): Promise<CircuitState | undefined> {
  if ((await redis.type(key)) !== 'hash') return undefined;
  const [state, epoch] = await redis.hmget(key, 'state', 'epoch');
  if ((state !== 'open' && state !== 'closed') || epoch === null) return undefined;
  const read = await new SharedCircuitStore(redis, key).read();
  const failure = read.lastFailure;
  return {
    key,
    state: read.state === 'open' && read.probing ? 'half-open' : read.state,
    msSinceChange: read.msSinceChange,
    msUntilHalfOpen: read.state === 'open' ? read.msUntilHalfOpen : 0,
    epoch: read.epoch,
    // Scrubbed when written; scrubbed again, in case another writer put it there.
    ...(failure && {
      lastFailure: {
        name: scrubSecrets(failure.name).slice(0, 80),
        ...(typeof failure.status === 'number' && { status: failure.status }),
        message: scrubSecrets(failure.message).slice(0, 200),
      },
    }),
  };
}

/**
 * The inverse of redis-keys.ts's `encodeKeyName`; undefined for text it would never write.
 */
export function decodeKeyName(encoded: string): string | undefined {
  let out = '';
  for (let i = 0; i < encoded.length; ) {
    const ch = encoded[i]!;
    if (ch !== '%') {
      if (!/[A-Za-z0-9._-]/.test(ch)) return undefined;
      out += ch;
      i += 1;
    } else if (encoded[i + 1] === 'u') {
      const hex = encoded.slice(i + 2, i + 6);
      if (!/^[0-9a-f]{4}$/.test(hex)) return undefined;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 6;
    } else {
      const hex = encoded.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 3;
    }
  }
  return out;
}
