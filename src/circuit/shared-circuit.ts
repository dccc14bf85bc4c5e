import type { Cluster, Redis } from 'ioredis';
import { evalScript, type LuaScript } from '../redis/eval-script.js';
import type { CircuitFailure } from './circuit-snapshot.js';

/**
 * The circuit state all workers share, in one Redis hash: `state` ('open' | 'closed'), `epoch`
 * (incremented on every open), `changedAt` and `halfOpenAt` (Redis server time, ms), `probe` and
 * `probeUntil` (the one worker allowed to send the half-open probe, and until when), `failure`
 * (JSON of the last failure, already scrubbed). Times are read from the server (TIME) and sent
 * back as durations, so skewed worker clocks do not matter.
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

/** Redis side of a shared circuit. One instance per policy; safe to share the client. */
export class SharedCircuitStore {
  constructor(
    private readonly redis: Redis | Cluster,
    readonly key: string,
  ) {}

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
