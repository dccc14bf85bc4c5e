import type { Cluster, Redis } from 'ioredis';
import { evalScript, type LuaScript } from '../redis/eval-script.js';
import type { CircuitFailure } from './circuit-snapshot.js';

/**
 * The circuit state all workers share, in one Redis hash: `state` ('open' | 'closed'), `epoch`
 * (incremented on every open), `changedAt` and `halfOpenAt` (Redis server time, ms), `probe` and
 * `probeUntil` (the one worker allowed to send the half-open probe, and until when), `failure`
 * (JSON of the last failure, already scrubbed). Times are read from the server (TIME) and sent
 * back as durations, so skewed worker clocks do not matter.
 *
 * Every change (open, probe taken, probe reported) is also published on the channel
 * `<key>:changed`, so subscribed workers re-read the state within a few ms; polling stays as the
 * safety net for messages lost while a subscriber reconnects.
 */
export interface SharedCircuitState {
  state: 'open' | 'closed';
  epoch: number;
  /** ms since the state last changed (server clock). */
  msSinceChange: number;
  /** ms until a probe may be sent (0 when due); only meaningful when open. */
  msUntilHalfOpen: number;
  /** A worker holds the probe right now. */
  probing: boolean;
  lastFailure?: CircuitFailure;
}

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function read()
  local h = redis.call('HMGET', KEYS[1], 'state', 'epoch', 'changedAt', 'halfOpenAt', 'probe', 'probeUntil', 'failure')
  local state = h[1] or 'closed'
  local epoch = tonumber(h[2] or '0')
  local changedAt = tonumber(h[3] or tostring(now))
  local halfOpenAt = tonumber(h[4] or '0')
  local probing = 0
  if h[5] and tonumber(h[6] or '0') > now then probing = 1 end
  local untilHalf = halfOpenAt - now
  if untilHalf < 0 then untilHalf = 0 end
  return { state, epoch, now - changedAt, untilHalf, probing, h[7] or '' }
end
-- Tells every subscribed worker to read the state now, instead of at its next poll.
local function changed()
  redis.call('PUBLISH', KEYS[1] .. ':changed', redis.call('HGET', KEYS[1], 'epoch') or '0')
end
`;

/** ARGV: none. */
const READ: LuaScript = {
  name: 'circuit-read',
  numberOfKeys: 1,
  source: `${PRELUDE}\nreturn read()`,
};

/** ARGV: halfOpenAfterMs, failureJson. Opens a closed circuit; leaves an open one as it is. */
const OPEN: LuaScript = {
  name: 'circuit-open',
  numberOfKeys: 1,
  source: `${PRELUDE}
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then
  local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
  redis.call('HSET', KEYS[1], 'state', 'open', 'changedAt', now, 'halfOpenAt', now + tonumber(ARGV[1]), 'failure', ARGV[2])
  redis.call('HDEL', KEYS[1], 'probe', 'probeUntil')
  changed()
end
return read()`,
};

/**
 * ARGV: workerId, probeLeaseMs. Grants the probe to one worker once the circuit is due for
 * half-open and nobody holds an unexpired probe. Returns { granted, read()... }.
 */
const PROBE: LuaScript = {
  name: 'circuit-probe',
  numberOfKeys: 1,
  source: `${PRELUDE}
local h = redis.call('HMGET', KEYS[1], 'state', 'halfOpenAt', 'probe', 'probeUntil')
local granted = 0
if h[1] == 'open' and tonumber(h[2] or '0') <= now and (not h[3] or tonumber(h[4] or '0') <= now) then
  redis.call('HSET', KEYS[1], 'probe', ARGV[1], 'probeUntil', now + tonumber(ARGV[2]))
  granted = 1
  changed()
end
local r = read()
table.insert(r, 1, granted)
return r`,
};

/**
 * ARGV: workerId, epoch, outcome ('success' | 'failure' | 'abandon'), halfOpenAfterMs, failureJson.
 * Only the probe holder of the current epoch decides: success closes the circuit, failure
 * re-opens it for another halfOpenAfterMs, abandon (a cancelled probe) only frees the probe.
 */
const REPORT: LuaScript = {
  name: 'circuit-report',
  numberOfKeys: 1,
  source: `${PRELUDE}
local h = redis.call('HMGET', KEYS[1], 'state', 'epoch', 'probe')
if h[1] == 'open' and h[2] == ARGV[2] and h[3] == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'probe', 'probeUntil')
  if ARGV[3] == 'abandon' then
    -- the probe was cancelled: nothing learnt, the next worker may probe at once
  elseif ARGV[3] == 'success' then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'changedAt', now)
  else
    redis.call('HINCRBY', KEYS[1], 'epoch', 1)
    redis.call('HSET', KEYS[1], 'changedAt', now, 'halfOpenAt', now + tonumber(ARGV[4]), 'failure', ARGV[5])
  end
  changed()
end
return read()`,
};

type Reply = [string, number, number, number, number, string];

function parse(reply: Reply): SharedCircuitState {
  const [state, epoch, msSinceChange, msUntilHalfOpen, probing, failure] = reply;
  const out: SharedCircuitState = {
    state: state === 'open' ? 'open' : 'closed',
    epoch: Number(epoch),
    msSinceChange: Math.max(0, Number(msSinceChange)),
    msUntilHalfOpen: Math.max(0, Number(msUntilHalfOpen)),
    probing: Number(probing) === 1,
  };
  if (failure) {
    try {
      const f = JSON.parse(failure) as CircuitFailure;
      if (typeof f.name === 'string' && typeof f.message === 'string') out.lastFailure = f;
    } catch {
      // a corrupt failure record is ignored
    }
  }
  return out;
}

type Client = Redis | Cluster;

/**
 * One subscriber connection per client (a `duplicate()`), shared by every circuit of the process
 * that uses that client, and closed with the last of them or when the client itself ends.
 */
interface Hub {
  sub: Client;
  /** channel -> callbacks */
  listeners: Map<string, Set<() => void>>;
  onEnd: () => void;
}

const hubs = new WeakMap<Client, Hub>();

function closeHub(redis: Client, hub: Hub): void {
  if (hubs.get(redis) !== hub) return;
  hubs.delete(redis);
  redis.off('end', hub.onEnd);
  hub.sub.disconnect();
}

function openHub(redis: Client): Hub {
  const existing = hubs.get(redis);
  if (existing) return existing;
  // 'ready' below subscribes again after every reconnection; ioredis's own re-subscription,
  // whose promise nobody holds, would reject unhandled when the hub closes before its answer.
  const sub: Client = redis.isCluster
    ? (redis as Cluster).duplicate()
    : (redis as Redis).duplicate({ autoResubscribe: false });
  const hub: Hub = { sub, listeners: new Map(), onEnd: () => closeHub(redis, hub) };
  // Connection errors also reach the caller's own client; here they only mean "poll meanwhile".
  sub.on('error', () => {});
  sub.on('message', (channel: string) => {
    for (const fn of hub.listeners.get(channel) ?? []) fn();
  });
  // After a (re)connect: subscribe again (a subscribe sent while offline may have been refused)
  // and re-read, since changes published while the connection was away are lost.
  sub.on('ready', () => {
    const channels = [...hub.listeners.keys()];
    if (channels.length > 0) sub.subscribe(...channels).catch(() => {});
    for (const set of hub.listeners.values()) for (const fn of set) fn();
  });
  redis.on('end', hub.onEnd);
  hubs.set(redis, hub);
  return hub;
}

/** Redis side of a shared circuit. One instance per policy; safe to share the client. */
export class SharedCircuitStore {
  constructor(
    private readonly redis: Redis | Cluster,
    readonly key: string,
  ) {}

  /** Channel on which every change of this circuit is published. */
  get channel(): string {
    return `${this.key}:changed`;
  }

  /**
   * Calls `onChange` whenever another worker (or this one) changes the circuit, and after the
   * subscriber reconnects. Returns the function that stops it. Never throws: without a
   * subscription the caller's polling still finds every change.
   */
  watch(onChange: () => void): () => void {
    const redis = this.redis;
    const hub = openHub(redis);
    const channel = this.channel;
    let set = hub.listeners.get(channel);
    if (!set) {
      set = new Set();
      hub.listeners.set(channel, set);
      hub.sub.subscribe(channel).catch(() => {});
    }
    const fn = () => onChange();
    set.add(fn);
    return () => {
      const current = hub.listeners.get(channel);
      if (!current?.delete(fn) || current.size > 0) return;
      hub.listeners.delete(channel);
      if (hub.listeners.size === 0) closeHub(redis, hub);
      else hub.sub.unsubscribe(channel).catch(() => {});
    };
  }

  async read(): Promise<SharedCircuitState> {
    return parse((await evalScript(this.redis, READ, [this.key], [])) as Reply);
  }

  async open(
    halfOpenAfterMs: number,
    failure: CircuitFailure | undefined,
  ): Promise<SharedCircuitState> {
    const json = failure ? JSON.stringify(failure) : '';
    return parse(
      (await evalScript(this.redis, OPEN, [this.key], [halfOpenAfterMs, json])) as Reply,
    );
  }

  async tryProbe(
    workerId: string,
    probeLeaseMs: number,
  ): Promise<{ granted: boolean; state: SharedCircuitState }> {
    const reply = (await evalScript(this.redis, PROBE, [this.key], [workerId, probeLeaseMs])) as [
      number,
      ...Reply,
    ];
    const [granted, ...rest] = reply;
    return { granted: Number(granted) === 1, state: parse(rest as Reply) };
  }

  async report(
    workerId: string,
    epoch: number,
    outcome: 'success' | 'failure' | 'abandon',
    halfOpenAfterMs: number,
    failure: CircuitFailure | undefined,
  ): Promise<SharedCircuitState> {
    const json = failure ? JSON.stringify(failure) : '';
    return parse(
      (await evalScript(
        this.redis,
        REPORT,
        [this.key],
        [workerId, String(epoch), outcome, halfOpenAfterMs, json],
      )) as Reply,
    );
  }
}
