/**
 * The limiter math in Lua, prefixed to every script. It mirrors gcra.ts and token-bucket.ts
 * function for function (same names, snake_case) so the two can be read side by side; the
 * differential test holds them equal. Only +, -, max and min on integers below 2^53: Lua 5.1
 * numbers are doubles, which are exact there, and costs arrive already converted to µs.
 *
 * Needs Redis >= 5, where scripts replicate by effects, so reading TIME before writing is
 * allowed. States are stored as one string of integers per key (see encode_numbers) so that a
 * write and its idle TTL are one `SET ... PX`.
 */
import { LEDGER_SIZE } from '../refund-ledger.js';

export const LUA_MATH = `
-- Time: the server's clock, unless the store was built with a test clock (ARGV[1] ~= '-').
local function clock_us()
  if ARGV[1] ~= '-' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function next_seq(seq, now)
  if seq == 0 then return now + 1 end
  return seq + 1
end

-- refund-ledger.ts: entries are { seq, gap } oldest first, gaps stored minus the offset.
local LEDGER_SIZE = ${LEDGER_SIZE}
local function ledger_empty()
  return { offset = 0, floor = 0, entries = {} }
end
-- Changes the ledger in place (the script owns its copy of the state) and returns it.
local function ledger_after_grant(l, tat_before, start, seq)
  local offset = l.offset + math.max(0, start - tat_before)
  local gap = math.max(0, tat_before - start)
  local entries = l.entries
  if gap == 0 then
    entries = {}
    l.entries = entries
  else
    local n = #entries
    while n > 0 and entries[n].gap + offset >= gap do
      entries[n] = nil
      n = n - 1
    end
  end
  entries[#entries + 1] = { seq = seq, gap = gap - offset }
  if #entries > LEDGER_SIZE then
    l.floor = math.max(l.floor, entries[1].seq)
    table.remove(entries, 1)
  end
  l.offset = offset
  return l
end
-- math.huge stands for "no bound" (the latest event).
local function ledger_allowance(l, grant_seq, latest_seq)
  if grant_seq == latest_seq then return math.huge end
  if grant_seq < l.floor then return 0 end
  for i = 1, #l.entries do
    if l.entries[i].seq > grant_seq then return math.max(0, l.entries[i].gap + l.offset) end
  end
  return 0
end
local function ledger_after_refund(l, grant_seq, applied)
  local before, after = {}, {}
  for i = 1, #l.entries do
    local e = l.entries[i]
    if e.seq <= grant_seq then
      before[#before + 1] = e
    else
      after[#after + 1] = { seq = e.seq, gap = e.gap - applied }
    end
  end
  local first = after[1]
  while first and #before > 0 and before[#before].gap >= first.gap do before[#before] = nil end
  for i = 1, #after do before[#before + 1] = after[i] end
  return { offset = l.offset, floor = l.floor, entries = before }
end

-- A state is one string of integers: the algorithm's own fields, then
-- last_start prev_start offset floor n seq1 gap1 ... seqn gapn.
local function decode_numbers(raw)
  local v = {}
  for n in string.gmatch(raw, '%-?%d+') do v[#v + 1] = tonumber(n) end
  return v
end
local function decode_tail(s, v, i)
  s.last_start, s.prev_start = v[i], v[i + 1]
  local l = { offset = v[i + 2], floor = v[i + 3], entries = {} }
  for j = 1, v[i + 4] do
    l.entries[j] = { seq = v[i + 3 + 2 * j], gap = v[i + 4 + 2 * j] }
  end
  s.ledger = l
  return s
end
local function encode_numbers(head, s)
  local parts = {}
  for i = 1, #head do parts[#parts + 1] = string.format('%.0f', head[i]) end
  local l = s.ledger
  parts[#parts + 1] =
    string.format('%.0f %.0f %.0f %.0f %d', s.last_start, s.prev_start, l.offset, l.floor, #l.entries)
  for i = 1, #l.entries do
    parts[#parts + 1] = string.format('%.0f %.0f', l.entries[i].seq, l.entries[i].gap)
  end
  return table.concat(parts, ' ')
end

-- gcra.ts
local gcra = {}
function gcra.decode(raw)
  if not raw then
    return { tat = 0, seq = 0, last_start = 0, prev_start = 0, ledger = ledger_empty() }
  end
  local v = decode_numbers(raw)
  return decode_tail({ tat = v[1], seq = v[2] }, v, 3)
end
function gcra.encode(s)
  return encode_numbers({ s.tat, s.seq }, s)
end
function gcra.wait(s, now, cost, cap)
  local by_rate = math.max(s.tat, now) + cost - cap
  return math.max(0, by_rate - now, s.last_start - now)
end
function gcra.grant(s, now, start, cost, _cap)
  local seq = next_seq(s.seq, now)
  s.ledger = ledger_after_grant(s.ledger, s.tat, start, seq)
  s.tat = math.max(s.tat, start) + cost
  s.seq = seq
  s.prev_start = s.last_start
  s.last_start = math.max(s.last_start, start)
  return s
end
local function start_after_refund(s, grant_seq, undo)
  if undo and grant_seq == s.seq then return s.prev_start end
  return s.last_start
end
function gcra.refund(s, _now, refund, grant_seq, _cap, undo)
  local applied = math.min(refund, ledger_allowance(s.ledger, grant_seq, s.seq))
  if not (applied > 0) then return s end
  return {
    tat = math.max(s.tat - applied, 0),
    seq = s.seq,
    last_start = start_after_refund(s, grant_seq, undo),
    prev_start = s.prev_start,
    ledger = ledger_after_refund(s.ledger, grant_seq, applied),
  }
end
function gcra.charge(s, now, extra, _cap)
  local seq = next_seq(s.seq, now)
  return {
    tat = math.max(s.tat, now) + extra,
    seq = seq,
    last_start = s.last_start,
    prev_start = s.last_start,
    ledger = ledger_after_grant(s.ledger, s.tat, now, seq),
  }
end
function gcra.hold(s, now, until_us, cap)
  local seq = next_seq(s.seq, now)
  local stop = until_us + cap
  return {
    tat = math.max(s.tat, stop),
    seq = seq,
    last_start = s.last_start,
    prev_start = s.last_start,
    ledger = ledger_after_grant(s.ledger, s.tat, stop, seq),
  }
end
function gcra.free(s, now, cap)
  return cap - math.max(0, s.tat - now)
end
function gcra.fifo(s, now)
  return math.max(0, s.last_start - now)
end
-- When the key is full again, so equal to a fresh one: the end of its TTL.
function gcra.idle_at(s, _cap)
  return s.tat
end

-- token-bucket.ts
local bucket = {}
function bucket.decode(raw)
  if not raw then
    return { level = 0, last = 0, seq = 0, last_start = 0, prev_start = 0, ledger = ledger_empty() }
  end
  local v = decode_numbers(raw)
  return decode_tail({ level = v[1], last = v[2], seq = v[3] }, v, 4)
end
function bucket.encode(s)
  return encode_numbers({ s.level, s.last, s.seq }, s)
end
local function read_at(s, now)
  return math.max(now, s.last)
end
local function level_at(s, at, cap)
  if s.seq == 0 and s.last == 0 then return cap end
  return math.min(cap, s.level + (at - s.last))
end
local function schedule_end(s, at, cap)
  return at + cap - level_at(s, at, cap)
end
function bucket.level(s, now, cap)
  return level_at(s, read_at(s, now), cap)
end
function bucket.wait(s, now, cost, cap)
  local at = read_at(s, now)
  local by_rate = at - now + math.max(0, cost - level_at(s, at, cap))
  return math.max(by_rate, s.last_start - now)
end
function bucket.grant(s, now, start, cost, cap)
  local at = read_at(s, now)
  local level = level_at(s, at, cap)
  local at_start = math.min(cap, level + (start - at))
  local seq = next_seq(s.seq, now)
  s.ledger = ledger_after_grant(s.ledger, at + cap - level, start, seq)
  s.level = at_start - cost - (start - at)
  s.last = at
  s.seq = seq
  s.prev_start = s.last_start
  s.last_start = math.max(s.last_start, start)
  return s
end
function bucket.refund(s, now, refund, grant_seq, cap, undo)
  local applied = math.min(refund, ledger_allowance(s.ledger, grant_seq, s.seq))
  if not (applied > 0) then return s end
  local at = read_at(s, now)
  return {
    level = level_at(s, at, cap) + applied,
    last = at,
    seq = s.seq,
    last_start = start_after_refund(s, grant_seq, undo),
    prev_start = s.prev_start,
    ledger = ledger_after_refund(s.ledger, grant_seq, applied),
  }
end
function bucket.charge(s, now, extra, cap)
  local at = read_at(s, now)
  local seq = next_seq(s.seq, now)
  return {
    level = level_at(s, at, cap) - extra,
    last = at,
    seq = seq,
    last_start = s.last_start,
    prev_start = s.last_start,
    ledger = ledger_after_grant(s.ledger, schedule_end(s, at, cap), now, seq),
  }
end
function bucket.hold(s, now, until_us, cap)
  local at = read_at(s, now)
  local held = math.min(level_at(s, at, cap), -(until_us - at))
  local seq = next_seq(s.seq, now)
  return {
    level = held,
    last = at,
    seq = seq,
    last_start = s.last_start,
    prev_start = s.last_start,
    ledger = ledger_after_grant(s.ledger, schedule_end(s, at, cap), until_us + cap, seq),
  }
end
function bucket.free(s, now, cap)
  local at = read_at(s, now)
  return level_at(s, at, cap) - (at - now)
end
function bucket.fifo(s, now)
  return math.max(0, s.last_start - now)
end
function bucket.idle_at(s, cap)
  if s.seq == 0 and s.last == 0 then return 0 end
  return s.last + cap - s.level
end

local algorithms = { g = gcra, t = bucket }

local function load(key, algo)
  return algorithms[algo].decode(redis.call('GET', key))
end

-- Writes a state that expires once it equals a fresh key; slack_ms keeps it a little longer.
local function save(key, algo, s, now, cap, slack_ms)
  local ops = algorithms[algo]
  -- Kept until it equals a fresh key, and until the clock passes its event numbers (an old
  -- permit must never match a new life's latest event) and its latest granted start.
  local idle_in = math.max(ops.idle_at(s, cap), s.seq, s.last_start) - now
  local ttl = slack_ms
  if idle_in > 0 then ttl = ttl + math.ceil(idle_in / 1000) end
  redis.call('SET', key, ops.encode(s), 'PX', string.format('%.0f', ttl))
end
`;
