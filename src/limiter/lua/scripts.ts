import type { LuaScript } from '../../redis/eval-script.js';
/**
 * The RedisStore's scripts as data: one per Store operation, each able to run either algorithm
 * per key, so a group mixing GCRA and token-bucket keys is still one atomic call.
 *
 * Every script takes ARGV[1] = now in µs, or '-' for the server's `TIME` (production), and
 * ARGV[2] = the TTL slack in ms. Costs and capacities are µs of schedule (rate.ts).
 */
import { LUA_MATH } from './math.js';

/** A limiter script: see `LuaScript`. */
export type RedisScript = LuaScript;

/**
 * A batch of reservations, decided in order as if they arrived back to back at one instant; each
 * mirrors MemoryStore.reserveSync. KEYS: every key of the batch, once. ARGV[3] = number of
 * reservations, then per reservation: member count, max wait µs, and per member: key index
 * (1-based, into KEYS), algorithm ('g' | 't'), cost µs, capacity µs. States are read once and
 * written once per key. Returns {now, then per reservation: granted, wait, index, free, and
 * when granted one seq per member (-1 for a member of cost 0)}.
 */
export const reserveScript: RedisScript = {
  name: 'reserve',
  numberOfKeys: 'variadic',
  source: `${LUA_MATH}
local now = clock_us()
local slack = tonumber(ARGV[2])
local states, algos, caps, dirty = {}, {}, {}, {}
local reply = { now }
local p = 4
for _ = 1, tonumber(ARGV[3]) do
  local n, max_wait = tonumber(ARGV[p]), tonumber(ARGV[p + 1])
  p = p + 2
  local ks, costs = {}, {}
  local wait, index = 0, 1
  for i = 1, n do
    local k, algo = tonumber(ARGV[p]), ARGV[p + 1]
    local cost, cap = tonumber(ARGV[p + 2]), tonumber(ARGV[p + 3])
    p = p + 4
    if states[k] == nil then
      states[k] = load(KEYS[k], algo)
      algos[k] = algo
    end
    ks[i], costs[i], caps[k] = k, cost, cap
    local w = algorithms[algo].wait(states[k], now, cost, cap)
    if w > wait then
      wait = w
      index = i
    end
  end
  local b = ks[index]
  if wait > max_wait then
    local free = algorithms[algos[b]].free(states[b], now, caps[b])
    reply[#reply + 1] = 0
    reply[#reply + 1] = wait
    reply[#reply + 1] = index - 1
    reply[#reply + 1] = free
    reply[#reply + 1] = algorithms[algos[b]].fifo(states[b], now)
  else
    local start = now + wait
    local seqs, spans = {}, {}
    for i = 1, n do
      local k = ks[i]
      if costs[i] == 0 then
        seqs[i], spans[i] = -1, 0
      else
        local ops = algorithms[algos[k]]
        local before = ops.free(states[k], now, caps[k])
        states[k] = ops.grant(states[k], now, start, costs[i], caps[k])
        dirty[k] = true
        seqs[i], spans[i] = states[k].seq, before - ops.free(states[k], now, caps[k])
      end
    end
    reply[#reply + 1] = 1
    reply[#reply + 1] = wait
    reply[#reply + 1] = index - 1
    reply[#reply + 1] = algorithms[algos[b]].free(states[b], now, caps[b])
    reply[#reply + 1] = algorithms[algos[b]].fifo(states[b], now)
    for i = 1, n do
      reply[#reply + 1] = seqs[i]
      reply[#reply + 1] = spans[i]
    end
  end
end
for k in pairs(dirty) do save(KEYS[k], algos[k], states[k], now, caps[k], slack) end
return reply
`,
};

/**
 * KEYS[1]; ARGV[3..7] = algorithm, capacity µs, refund µs, grant seq, 1 when the grant is
 * withdrawn whole. Returns now.
 */
export const refundScript: RedisScript = {
  name: 'refund',
  numberOfKeys: 1,
  source: `${LUA_MATH}
local now = clock_us()
local algo, cap = ARGV[3], tonumber(ARGV[4])
local before = load(KEYS[1], algo)
local undo = ARGV[7] == '1'
local s = algorithms[algo].refund(before, now, tonumber(ARGV[5]), tonumber(ARGV[6]), cap, undo)
-- A refund the ledger does not allow changes nothing: nothing to write.
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

/** KEYS[1]; ARGV[3..4] = algorithm, capacity µs. Reads only. Returns {free, fifo, now}. */
export const lookScript: RedisScript = {
  name: 'look',
  numberOfKeys: 1,
  source: `${LUA_MATH}
local now = clock_us()
local algo, cap = ARGV[3], tonumber(ARGV[4])
local s = load(KEYS[1], algo)
return { algorithms[algo].free(s, now, cap), algorithms[algo].fifo(s, now), now }
`,
};

export const redisScripts = [
  reserveScript,
  refundScript,
  chargeScript,
  holdScript,
  lookScript,
] as const;
