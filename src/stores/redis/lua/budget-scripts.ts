import type { LuaScript } from '../../../redis/eval-script.js';

/**
 * The RedisBudgetStore's scripts: bucket-queue.ts in Lua, function for function (same names,
 * snake_case), and one script per BudgetStore operation mirroring MemoryBudgetStore's method of
 * the same name. The differential test (test/redis/budget-differential.test.ts) holds them equal.
 *
 * Every script takes ARGV[1] = now in µs, or '-' for the server's `TIME` (production), ARGV[2] =
 * the TTL slack in ms, ARGV[3] = the claim grace in µs, ARGV[4] = the channel the shifts are
 * published on. Costs and capacities are µs of schedule (rate.ts), integers below 2^53, exact in
 * Lua's doubles.
 *
 * A key's state is one string of doubles: the format marker (72), ts, pend, seq, version, held,
 * the estimate of others' spending and until when it holds, then seq, cost, at per waiting
 * ticket (format 71, without the estimate, is still read). It is written with a TTL that runs out
 * once the key equals a fresh one and the clock has passed its numbers (a new life numbers from
 * the clock).
 *
 * Each shift is published as `<key> <version> <all> <before seq> <before add> <after seq> <after
 * add>` (a `-` for a part that is absent), in the order the operation made them.
 */

const LUA_BUCKET_QUEUE = `
local max, min = math.max, math.min
local function clock_us()
  if ARGV[1] ~= '-' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local SLACK_MS, GRACE, CHANNEL = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local FORMAT, HEAD = 72, 8

local function unpack_doubles(raw)
  local out, count, pos = {}, #raw / 8, 1
  local done = 0
  while done < count do
    local m = min(999, count - done)
    local chunk = { struct.unpack('<' .. string.rep('d', m), raw, pos) }
    for j = 1, m do out[done + j] = chunk[j] end
    pos = chunk[m + 1]
    done = done + m
  end
  return out
end

local function decode(raw, key)
  local s = { ts = 0, pend = 0, seq = 0, version = 0, held = 0, og = 0, ogu = 0,
    qs = {}, qc = {}, qa = {} }
  if not raw then return s end
  -- Format 71 (head of 6) is the same state before the estimate of others' spending (0).
  local format = #raw >= 8 and struct.unpack('<d', raw) or 0
  local head = (format == 71 and 6) or HEAD
  if #raw % 8 ~= 0 or #raw < head * 8 or ((#raw / 8) - head) % 3 ~= 0
    or (format ~= FORMAT and format ~= 71) then
    error('key ' .. key .. ' does not hold a budget queue state')
  end
  local v = unpack_doubles(raw)
  s.ts, s.pend, s.seq, s.version, s.held = v[2], v[3], v[4], v[5], v[6]
  if head == HEAD then s.og, s.ogu = v[7], v[8] end
  local n = 0
  for i = head + 1, #v, 3 do
    n = n + 1
    s.qs[n], s.qc[n], s.qa[n] = v[i], v[i + 1], v[i + 2]
  end
  return s
end

-- Writes the state; it expires once it equals a fresh key and the clock has passed its numbers,
-- and a queue keeps it until its last ticket would be dropped anyway.
local function save(key, s, now)
  local v = { FORMAT, s.ts, s.pend, s.seq, s.version, s.held, s.og, s.ogu }
  local n = #s.qs
  for i = 1, n do
    v[HEAD + 3 * i - 2], v[HEAD + 3 * i - 1], v[HEAD + 3 * i] = s.qs[i], s.qc[i], s.qa[i]
  end
  local until_us = max(s.ts, s.seq, s.version, s.held, s.ogu)
  if n > 0 then until_us = max(until_us, s.ts + s.pend + GRACE, s.qa[n] + GRACE) end
  local ttl = SLACK_MS
  if until_us > now then ttl = ttl + math.ceil((until_us - now) / 1000) end
  local parts, done = {}, 0
  -- struct.pack takes its values on Lua's C stack: in chunks.
  while done < #v do
    local m = min(999, #v - done)
    parts[#parts + 1] = struct.pack('<' .. string.rep('d', m), unpack(v, done + 1, done + m))
    done = done + m
  end
  redis.call('SET', key, table.concat(parts), 'PX', string.format('%.0f', ttl))
end

local function num(x)
  if x == nil then return '-' end
  return string.format('%.0f', x)
end
local function publish(key, sh)
  redis.call('PUBLISH', CHANNEL, key .. ' ' .. num(sh.v) .. ' ' .. num(sh.all) .. ' ' ..
    num(sh.bs) .. ' ' .. num(sh.ba) .. ' ' .. num(sh.as) .. ' ' .. num(sh.aa))
end

local function start_at(s, index, cap)
  local prefix = 0
  for i = 1, index do prefix = prefix + s.qc[i] end
  return s.ts + prefix - cap
end
-- Since when the head ticket has been due: passed by a later start (qa < 0), or from its start.
local function due_since(s, cap)
  if s.qa[1] < 0 then return -s.qa[1] - 1 end
  return max(start_at(s, 1, cap), s.qa[1])
end
local function queue_wait(s, now, cost, cap)
  return max(0, s.ts + s.pend + cost - cap - now)
end
local function move_ts(s, ts2)
  if ts2 == s.ts then return nil end
  local all = ts2 - s.ts
  s.ts = ts2
  if #s.qs == 0 then return nil end
  s.version = s.version + 1
  return { v = s.version, all = all }
end
local function next_seq(s, now)
  if s.seq == 0 then return now + 1 end
  return s.seq + 1
end
local function charged_end(ts, now, cost, lag)
  return max(ts, now + lag) + cost
end
local function lag_charged(ts, now, lag)
  return max(0, now + lag - max(ts, now))
end
local function queue_reserve(s, now, cost, start_now, lag)
  local seq = next_seq(s, now)
  if s.seq == 0 then s.version = now end
  s.seq = seq
  if start_now then
    s.ts = charged_end(s.ts, now, cost, lag)
  else
    local n = #s.qs + 1
    s.qs[n], s.qc[n], s.qa[n] = seq, cost, now
    s.pend = s.pend + cost
  end
  return seq
end
local function index_of(s, seq)
  for i = 1, #s.qs do
    if s.qs[i] == seq then return i end
  end
  return 0
end
local function remove_at(s, at)
  local cost = s.qc[at]
  table.remove(s.qs, at)
  table.remove(s.qc, at)
  table.remove(s.qa, at)
  s.pend = s.pend - cost
  return cost
end
local function queue_claim(s, now, seq, lag)
  local at = index_of(s, seq)
  if at == 0 then return nil end
  local old = s.ts
  local cost = remove_at(s, at)
  for i = 1, at - 1 do
    if s.qa[i] >= 0 then s.qa[i] = -(now + 1) end
  end
  s.ts = charged_end(old, now, cost, lag)
  local all = s.ts - cost - old
  if #s.qs == 0 or (all == 0 and at == 1) then return nil end
  s.version = s.version + 1
  if at > 1 then return { v = s.version, all = all, bs = seq, ba = cost } end
  return { v = s.version, all = all }
end
local function queue_refund(s, now, refund)
  return move_ts(s, s.ts - min(refund, max(0, s.ts - now)))
end
local function queue_charge(s, now, extra)
  return move_ts(s, max(s.ts, now) + extra)
end
local function queue_hold(s, until_us, cap, cost)
  local sh = move_ts(s, max(s.ts, until_us + cap - min(cost, cap)))
  s.held = max(s.held, until_us)
  return sh
end
local function queue_outside_at(s, now)
  if now < s.ogu then return s.og end
  return 0
end
local function queue_lower_to(s, now, cap, left)
  local used = queue_outside_at(s, now)
  local target = max(0, left - used)
  local err = cap - target - max(0, s.ts - now) - used
  local nxt
  if err > 0 then nxt = used + math.floor(err / 2) else nxt = used - math.floor(-err / 10) end
  s.og = min(math.floor(cap / 4), max(0, nxt))
  s.ogu = now + cap
  return queue_hold(s, now + 1, cap, target)
end
local function queue_cancel(s, now, seq, cost)
  local at = index_of(s, seq)
  if at == 0 then return queue_refund(s, now, cost) end
  local c = remove_at(s, at)
  if at == #s.qs + 1 then return nil end
  s.version = s.version + 1
  return { v = s.version, all = 0, as = seq, aa = -c }
end
local function queue_free_us(s, now, cap)
  return cap - max(0, s.ts + s.pend - now)
end
local function queue_held_us(s, now)
  return max(0, s.held - now)
end

-- The operation's keys: states read once, written once, shifts published in order.
local states, dirty, shifts = {}, {}, {}
local function shifted(k, sh)
  dirty[k] = true
  if sh then shifts[#shifts + 1] = { k, sh } end
end
-- MemoryBudgetStore.fresh: the key's state with stale tickets dropped.
local function fresh(k, now, cap)
  local s = states[k]
  if s == nil then
    s = decode(redis.call('GET', KEYS[k]), KEYS[k])
    states[k] = s
  end
  while #s.qs > 0 and due_since(s, cap) < now - GRACE do
    shifted(k, queue_cancel(s, now, s.qs[1], 0))
  end
  return s
end
local function plan(s, seq, now, cap, out)
  local at = index_of(s, seq)
  out[#out + 1] = seq
  if at > 0 then
    out[#out + 1] = 1
    out[#out + 1] = start_at(s, at, cap) - now
  else
    out[#out + 1] = 0
    out[#out + 1] = 0
  end
  out[#out + 1] = s.version
end
local function finish(now)
  for k in pairs(dirty) do save(KEYS[k], states[k], now) end
  for i = 1, #shifts do publish(KEYS[shifts[i][1]], shifts[i][2]) end
end
`;

/**
 * KEYS: the members' keys. ARGV[5] = max wait µs, then per member: capacity µs, cost µs, lag µs.
 * Returns {now, granted (0|1), wait, index (0-based), then per member when granted: seq, queued
 * (0|1), wait µs, version (seq -1 for a member of cost 0), then per member the µs of arrival lag
 * its start was charged (0 unless it started at once)}.
 */
export const budgetReserveScript: LuaScript = {
  name: 'budget-reserve',
  numberOfKeys: 'variadic',
  source: `${LUA_BUCKET_QUEUE}
local now = clock_us()
local max_wait = tonumber(ARGV[5])
local n = #KEYS
local caps, costs, lags = {}, {}, {}
for i = 1, n do
  local q = 6 + 3 * (i - 1)
  caps[i], costs[i], lags[i] = tonumber(ARGV[q]), tonumber(ARGV[q + 1]), tonumber(ARGV[q + 2])
  fresh(i, now, caps[i])
end
local wait, index, queued = 0, 1, false
for i = 1, n do
  if costs[i] ~= 0 then
    local s = states[i]
    if #s.qs > 0 then queued = true end
    local w = queue_wait(s, now, costs[i], caps[i])
    if w > wait then
      wait = w
      index = i
    end
  end
end
if wait > max_wait then
  finish(now)
  return { now, 0, wait, index - 1 }
end
local start_now = wait == 0 and not queued
local reply = { now, 1, wait, index - 1 }
local charged = {}
for i = 1, n do
  charged[i] = 0
  if costs[i] == 0 then
    reply[#reply + 1], reply[#reply + 2], reply[#reply + 3], reply[#reply + 4] = -1, 0, 0, 0
  else
    if start_now then charged[i] = lag_charged(states[i].ts, now, lags[i]) end
    local seq = queue_reserve(states[i], now, costs[i], start_now, lags[i])
    shifted(i, nil)
    plan(states[i], seq, now, caps[i], reply)
  end
end
for i = 1, n do reply[#reply + 1] = charged[i] end
finish(now)
return reply
`,
};

/**
 * KEYS: the members' keys. ARGV[5..]: per member: capacity µs, seq (-1: not charged), lag µs.
 * Returns {now, 0} when lost, {now, 1, wait, then the plans as reserve's} to wait, {now, 2, then
 * per member the µs of arrival lag its start was charged} when started.
 */
export const budgetClaimScript: LuaScript = {
  name: 'budget-claim',
  numberOfKeys: 'variadic',
  source: `${LUA_BUCKET_QUEUE}
local now = clock_us()
local n = #KEYS
local caps, seqs, lags = {}, {}, {}
for i = 1, n do
  local q = 5 + 3 * (i - 1)
  caps[i], seqs[i], lags[i] = tonumber(ARGV[q]), tonumber(ARGV[q + 1]), tonumber(ARGV[q + 2])
  fresh(i, now, caps[i])
end
local wait, lost = 0, false
for i = 1, n do
  if seqs[i] >= 0 then
    local at = index_of(states[i], seqs[i])
    if at == 0 then lost = true
    else wait = max(wait, start_at(states[i], at, caps[i]) - now) end
  end
end
if lost then
  -- Part of the reservation was dropped: withdraw the rest; the caller reserves again.
  for i = 1, n do
    if seqs[i] >= 0 then shifted(i, queue_cancel(states[i], now, seqs[i], 0)) end
  end
  finish(now)
  return { now, 0 }
end
if wait > 0 then
  local reply = { now, 1, wait }
  for i = 1, n do
    if seqs[i] < 0 then
      reply[#reply + 1], reply[#reply + 2], reply[#reply + 3], reply[#reply + 4] = -1, 0, 0, 0
    else
      plan(states[i], seqs[i], now, caps[i], reply)
    end
  end
  finish(now)
  return reply
end
local reply = { now, 2 }
for i = 1, n do
  local charged = 0
  if seqs[i] >= 0 then
    charged = lag_charged(states[i].ts, now, lags[i])
    shifted(i, queue_claim(states[i], now, seqs[i], lags[i]))
  end
  reply[#reply + 1] = charged
end
finish(now)
return reply
`,
};

/**
 * KEYS: the members' keys. ARGV[5..]: per member: capacity µs, delta µs (negative: a credit),
 * then the µs of schedule the provider says are left (-1: nothing said), to which the bucket
 * comes down after the delta, less the key's estimate of others' spending (queue_lower_to;
 * MemoryBudgetStore.adjust). Returns {now, then per member the estimate (0 where nothing was
 * said)}.
 */
export const budgetAdjustScript: LuaScript = {
  name: 'budget-adjust',
  numberOfKeys: 'variadic',
  source: `${LUA_BUCKET_QUEUE}
local now = clock_us()
local reply = { now }
for i = 1, #KEYS do
  local q = 5 + 3 * (i - 1)
  local cap, delta, left = tonumber(ARGV[q]), tonumber(ARGV[q + 1]), tonumber(ARGV[q + 2])
  if delta ~= 0 then
    local s = fresh(i, now, cap)
    if delta < 0 then shifted(i, queue_refund(s, now, -delta))
    else shifted(i, queue_charge(s, now, delta)) end
  end
  local outside = 0
  if left >= 0 then
    local s = fresh(i, now, cap)
    shifted(i, queue_lower_to(s, now, cap, left))
    outside = s.og
  end
  reply[#reply + 1] = outside
end
finish(now)
return reply
`,
};

/**
 * KEYS: the members' keys. ARGV[5..]: per member: capacity µs, seq (-1: not charged), cost µs.
 * Returns now.
 */
export const budgetCancelScript: LuaScript = {
  name: 'budget-cancel',
  numberOfKeys: 'variadic',
  source: `${LUA_BUCKET_QUEUE}
local now = clock_us()
for i = 1, #KEYS do
  local q = 5 + 3 * (i - 1)
  local cap, seq, cost = tonumber(ARGV[q]), tonumber(ARGV[q + 1]), tonumber(ARGV[q + 2])
  if seq >= 0 then
    local s = fresh(i, now, cap)
    shifted(i, queue_cancel(s, now, seq, cost))
  end
end
finish(now)
return now
`,
};

/**
 * KEYS[1]; ARGV[5..7] = capacity µs, delay µs, cost µs: a request of that cost fits no sooner
 * than now + delay (queueHold). ARGV[8], optional: instead, bring the key down to empty at least
 * (used to re-enter Redis after an outage without a burst). Returns now.
 */
export const budgetHoldScript: LuaScript = {
  name: 'budget-hold',
  numberOfKeys: 1,
  source: `${LUA_BUCKET_QUEUE}
local now = clock_us()
local cap, delay, cost = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local s = fresh(1, now, cap)
if ARGV[8] then
  shifted(1, move_ts(s, max(s.ts, now + cap)))
else
  shifted(1, queue_hold(s, now + delay, cap, cost))
end
finish(now)
return now
`,
};

/**
 * KEYS[1]; ARGV[5] = capacity µs. Reads only: the key as the next operation will find it (stale
 * tickets dropped, as `fresh` does, but not written). Returns {free µs, queued, held µs, now}.
 */
export const budgetLookScript: LuaScript = {
  name: 'budget-look',
  numberOfKeys: 1,
  source: `${LUA_BUCKET_QUEUE}
local now = clock_us()
local cap = tonumber(ARGV[5])
local s = decode(redis.call('GET', KEYS[1]), KEYS[1])
while #s.qs > 0 and due_since(s, cap) < now - GRACE do remove_at(s, 1) end
return { queue_free_us(s, now, cap), #s.qs, queue_held_us(s, now), now }
`,
};

/** KEYS: keys. Reads only. Returns each key's version (0 when absent), for a resync. */
export const budgetVersionsScript: LuaScript = {
  name: 'budget-versions',
  numberOfKeys: 'variadic',
  source: `${LUA_BUCKET_QUEUE}
local out = {}
for i = 1, #KEYS do out[i] = decode(redis.call('GET', KEYS[i]), KEYS[i]).version end
return out
`,
};

export const budgetScripts = [
  budgetReserveScript,
  budgetClaimScript,
  budgetAdjustScript,
  budgetCancelScript,
  budgetHoldScript,
  budgetLookScript,
  budgetVersionsScript,
] as const;
