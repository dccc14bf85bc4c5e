/**
 * The RedisStore's scripts as data: one per Store operation, each able to run either algorithm
 * per key, so a group mixing GCRA and token-bucket keys is still one atomic call.
 *
 * Every script takes ARGV[1] = now in µs, or '-' for the server's `TIME` (production), and
 * ARGV[2] = the TTL slack in ms. Costs and capacities are µs of schedule (rate.ts).
 */
import { LUA_MATH } from './math.js';

export interface RedisScript {
  /** Short name for errors and docs. */
  readonly name: string;
  /** Lua source sent once by EVAL when the server does not know its SHA1. */
  readonly source: string;
  /** Number of KEYS, or 'variadic' when the caller passes it (a group's members). */
  readonly numberOfKeys: number | 'variadic';
}

/**
 * KEYS: the members. ARGV[3] = max wait µs, then per member: algorithm ('g' | 't'), cost µs,
 * capacity µs. Mirrors MemoryStore.reserveSync. Returns {granted, wait, index, free, now,
 * seq...} (seq -1 for a member of cost 0).
 */
export const reserveScript: RedisScript = {
  name: 'reserve',
  numberOfKeys: 'variadic',
  source: `${LUA_MATH}
local now = clock_us()
local slack = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local n = #KEYS
local algos, costs, caps, states = {}, {}, {}, {}
local wait, index = 0, 1
for i = 1, n do
  local base = 1 + 3 * i
  algos[i] = ARGV[base]
  costs[i] = tonumber(ARGV[base + 1])
  caps[i] = tonumber(ARGV[base + 2])
  states[i] = load(KEYS[i], algos[i])
  local w = algorithms[algos[i]].wait(states[i], now, costs[i], caps[i])
  if w > wait then
    wait = w
    index = i
  end
end
if wait > max_wait then
  local free = algorithms[algos[index]].free(states[index], now, caps[index])
  return { 0, wait, index - 1, free, now }
end
local start = now + wait
local reply = { 1, wait, index - 1, 0, now }
for i = 1, n do
  if costs[i] == 0 then
    reply[5 + i] = -1
  else
    local ops = algorithms[algos[i]]
    states[i] = ops.grant(states[i], now, start, costs[i], caps[i])
    save(KEYS[i], algos[i], states[i], now, caps[i], slack)
    reply[5 + i] = states[i].seq
  end
end
reply[4] = algorithms[algos[index]].free(states[index], now, caps[index])
return reply
`,
};

/** KEYS[1]; ARGV[3..6] = algorithm, capacity µs, refund µs, grant seq. Returns now. */
export const refundScript: RedisScript = {
  name: 'refund',
  numberOfKeys: 1,
  source: `${LUA_MATH}
local now = clock_us()
local algo, cap = ARGV[3], tonumber(ARGV[4])
local before = load(KEYS[1], algo)
local s = algorithms[algo].refund(before, now, tonumber(ARGV[5]), tonumber(ARGV[6]), cap)
-- A refund to any grant but the latest is dropped: nothing to write.
if s ~= before then save(KEYS[1], algo, s, now, cap, tonumber(ARGV[2])) end
return now
`,
};

/** KEYS[1]; ARGV[3..5] = algorithm, capacity µs, extra µs. Returns now. */
export const chargeScript: RedisScript = {
  name: 'charge',
  numberOfKeys: 1,
  source: `${LUA_MATH}
local now = clock_us()
local algo, cap = ARGV[3], tonumber(ARGV[4])
local s = algorithms[algo].charge(load(KEYS[1], algo), now, tonumber(ARGV[5]), cap)
save(KEYS[1], algo, s, now, cap, tonumber(ARGV[2]))
return now
`,
};

/**
 * KEYS[1]; ARGV[3..5] = algorithm, capacity µs, delay µs: no grant starts before now + delay,
 * and the key refills from empty from then on. Delay 0 empties the key now (used to re-enter
 * Redis after an outage without a burst). Returns now.
 */
export const holdScript: RedisScript = {
  name: 'hold',
  numberOfKeys: 1,
  source: `${LUA_MATH}
local now = clock_us()
local algo, cap = ARGV[3], tonumber(ARGV[4])
local s = algorithms[algo].hold(load(KEYS[1], algo), now, now + tonumber(ARGV[5]), cap)
save(KEYS[1], algo, s, now, cap, tonumber(ARGV[2]))
return now
`,
};

/** KEYS[1]; ARGV[3..4] = algorithm, capacity µs. Reads only. Returns {free, now}. */
export const lookScript: RedisScript = {
  name: 'look',
  numberOfKeys: 1,
  source: `${LUA_MATH}
local now = clock_us()
local algo, cap = ARGV[3], tonumber(ARGV[4])
return { algorithms[algo].free(load(KEYS[1], algo), now, cap), now }
`,
};

export const redisScripts = [
  reserveScript,
  refundScript,
  chargeScript,
  holdScript,
  lookScript,
] as const;
