/**
 * The limiter math in Lua, prefixed to every script. It mirrors gcra.ts and token-bucket.ts
 * function for function (same names, snake_case) so the two can be read side by side; the
 * differential test holds them equal. Only +, -, max and min on integers below 2^53: Lua 5.1
 * numbers are doubles, which are exact there, and costs arrive already converted to µs.
 *
 * Needs Redis >= 5, where scripts replicate by effects, so reading TIME before writing is
 * allowed. States are stored as one binary string of doubles per key (see encode_numbers) so
 * that a write and its idle TTL are one `SET ... PX`; the first double is the format version.
 */
import { LEDGER_SIZE } from '../../../limiter/refund-ledger.js';

export const LUA_MATH = `
-- Locals: an upvalue read is cheaper than a global table lookup, and these run per grant.
local max, min = math.max, math.min
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

-- refund-ledger.ts: the entries are two arrays, seq and gap (stored minus the offset), oldest
-- first; flat arrays rather than a table per entry, since a grant is the hot path.
local LEDGER_SIZE = ${LEDGER_SIZE}
local function ledger_empty()
  return { offset = 0, floor = 0, seq = {}, gap = {} }
end
-- Changes the ledger in place (the script owns its copy of the state) and returns it.
local function ledger_after_grant(l, tat_before, start, seq)
  local offset = l.offset + max(0, start - tat_before)
  local gap = max(0, tat_before - start)
  local seqs, gaps = l.seq, l.gap
  local n = #seqs
  -- gap 0 is at or below every gap (all are >= 0), so it pops them all, as in the TS shortcut.
  while n > 0 and gaps[n] + offset >= gap do
    seqs[n], gaps[n] = nil, nil
    n = n - 1
  end
  seqs[n + 1], gaps[n + 1] = seq, gap - offset
  if n + 1 > LEDGER_SIZE then
    l.floor = max(l.floor, seqs[1])
    table.remove(seqs, 1)
    table.remove(gaps, 1)
  end
  l.offset = offset
  return l
end
-- math.huge stands for "no bound" (the latest event).
local function ledger_allowance(l, grant_seq, latest_seq)
  if grant_seq == latest_seq then return math.huge end
  if grant_seq < l.floor then return 0 end
  local seqs = l.seq
  for i = 1, #seqs do
    if seqs[i] > grant_seq then return max(0, l.gap[i] + l.offset) end
  end
  return 0
end
-- Entries up to the grant stay; the later ones lose the refund, and earlier entries no longer
-- below the first later gap stop being minima.
local function ledger_after_refund(l, grant_seq, applied)
  local seqs, gaps, n = {}, {}, 0
  local seen_later = false
  for i = 1, #l.seq do
    local s, g = l.seq[i], l.gap[i]
    if s > grant_seq then
      g = g - applied
      if not seen_later then
        seen_later = true
        while n > 0 and gaps[n] >= g do
          seqs[n], gaps[n] = nil, nil
          n = n - 1
        end
      end
    end
    n = n + 1
    seqs[n], gaps[n] = s, g
  end
  return { offset = l.offset, floor = l.floor, seq = seqs, gap = gaps }
end

-- Doubles, little-endian, through the struct library (C): an order of magnitude faster than
-- formatting and parsing decimal text, and exact for the integers below 2^53 used here.
-- Unpacked in chunks, since each value takes a slot of Lua's C stack (8000 at most).
local function unpack_doubles(raw)
  local out, count, pos = {}, #raw / 8, 1
  local done = 0
  while done < count do
    local m = min(1000, count - done)
    local chunk = { struct.unpack('<' .. string.rep('d', m), raw, pos) }
    for j = 1, m do out[done + j] = chunk[j] end
    pos = chunk[m + 1]
    done = done + m
  end
  return out
end
local function pack_doubles(v)
  return struct.pack('<' .. string.rep('d', #v), unpack(v))
end

-- A state is one string of doubles: the format version, the algorithm's own fields, then
-- last_start prev_start held_until offset floor seq1 gap1 ... seqn gapn. \`fields\` counts the
-- doubles before the ledger's entries; anything shorter, or with a pair cut or too many, is
-- another string.
local STATE_FORMAT = 2
local function decode_numbers(raw, key, fields)
  local count = #raw / 8
  if #raw % 8 ~= 0 or count < fields or count > fields + 2 * LEDGER_SIZE
    or (count - fields) % 2 ~= 0 or struct.unpack('<d', raw) ~= STATE_FORMAT then
    error('key ' .. key .. ' does not hold a limiter state of format ' .. STATE_FORMAT)
  end
  return unpack_doubles(raw)
end
local function decode_tail(s, v, i)
  s.last_start, s.prev_start, s.held_until = v[i], v[i + 1], v[i + 2]
  local l = { offset = v[i + 3], floor = v[i + 4], seq = {}, gap = {} }
  local j = 0
  for q = i + 5, #v - 1, 2 do
    j = j + 1
    l.seq[j], l.gap[j] = v[q], v[q + 1]
  end
  s.ledger = l
  return s
end
local function encode_numbers(head, s)
  local l = s.ledger
  local v = { STATE_FORMAT }
  local n = 1
  for i = 1, #head do
    n = n + 1
    v[n] = head[i]
  end
  v[n + 1], v[n + 2], v[n + 3] = s.last_start, s.prev_start, s.held_until
  v[n + 4], v[n + 5] = l.offset, l.floor
  n = n + 5
  for i = 1, #l.seq do
    v[n + 1], v[n + 2] = l.seq[i], l.gap[i]
    n = n + 2
  end
  return pack_doubles(v)
end

-- gcra.ts
local gcra = {}
function gcra.decode(raw, key)
  if not raw then
    return {
      tat = 0, seq = 0, last_start = 0, prev_start = 0, held_until = 0, ledger = ledger_empty(),
    }
  end
  local v = decode_numbers(raw, key, 8)
  return decode_tail({ tat = v[2], seq = v[3] }, v, 4)
end
function gcra.encode(s)
  return encode_numbers({ s.tat, s.seq }, s)
end
function gcra.wait(s, now, cost, cap)
  local by_rate = max(s.tat, now) + cost - cap
  return max(0, by_rate - now, s.last_start - now)
end
function gcra.grant(s, now, start, cost, _cap)
  local seq = next_seq(s.seq, now)
  s.ledger = ledger_after_grant(s.ledger, s.tat, start, seq)
  s.tat = max(s.tat, start) + cost
  s.seq = seq
  s.prev_start = s.last_start
  s.last_start = max(s.last_start, start)
  return s
end
local function start_after_refund(s, grant_seq, undo)
  if undo and grant_seq == s.seq then return s.prev_start end
  return s.last_start
end
function gcra.refund(s, _now, refund, grant_seq, _cap, undo)
  local applied = min(refund, ledger_allowance(s.ledger, grant_seq, s.seq))
  if not (applied > 0) then return s end
  return {
    tat = max(s.tat - applied, 0),
    seq = s.seq,
    last_start = start_after_refund(s, grant_seq, undo),
    prev_start = s.prev_start,
    held_until = s.held_until,
    ledger = ledger_after_refund(s.ledger, grant_seq, applied),
  }
end
function gcra.charge(s, now, extra, _cap)
  local seq = next_seq(s.seq, now)
  return {
    tat = max(s.tat, now) + extra,
    seq = seq,
    last_start = s.last_start,
    prev_start = s.last_start,
    held_until = s.held_until,
    ledger = ledger_after_grant(s.ledger, s.tat, now, seq),
  }
end
function gcra.hold(s, now, until_us, cap)
  local seq = next_seq(s.seq, now)
  local stop = until_us + cap
  return {
    tat = max(s.tat, stop),
    seq = seq,
    last_start = s.last_start,
    prev_start = s.last_start,
    held_until = max(s.held_until, until_us),
    ledger = ledger_after_grant(s.ledger, s.tat, stop, seq),
  }
end
function gcra.free(s, now, cap)
  return cap - max(0, s.tat - now)
end
function gcra.fifo(s, now)
  return max(0, s.last_start - now)
end
-- When the key is full again, so equal to a fresh one: the end of its TTL.
function gcra.idle_at(s, _cap)
  return s.tat
end

-- token-bucket.ts
local bucket = {}
function bucket.decode(raw, key)
  if not raw then
    return {
      level = 0, last = 0, seq = 0, last_start = 0, prev_start = 0, held_until = 0,
      ledger = ledger_empty(),
    }
  end
  local v = decode_numbers(raw, key, 9)
  return decode_tail({ level = v[2], last = v[3], seq = v[4] }, v, 5)
end
function bucket.encode(s)
  return encode_numbers({ s.level, s.last, s.seq }, s)
end
local function read_at(s, now)
  return max(now, s.last)
end
local function level_at(s, at, cap)
  if s.seq == 0 and s.last == 0 then return cap end
  return min(cap, s.level + (at - s.last))
end
local function schedule_end(s, at, cap)
  return at + cap - level_at(s, at, cap)
end
function bucket.level(s, now, cap)
  return level_at(s, read_at(s, now), cap)
end
function bucket.wait(s, now, cost, cap)
  local at = read_at(s, now)
  local by_rate = at - now + max(0, cost - level_at(s, at, cap))
  return max(by_rate, s.last_start - now)
end
function bucket.grant(s, now, start, cost, cap)
  local at = read_at(s, now)
  local level = level_at(s, at, cap)
  local at_start = min(cap, level + (start - at))
  local seq = next_seq(s.seq, now)
  s.ledger = ledger_after_grant(s.ledger, at + cap - level, start, seq)
  s.level = at_start - cost - (start - at)
  s.last = at
  s.seq = seq
  s.prev_start = s.last_start
  s.last_start = max(s.last_start, start)
  return s
end
function bucket.refund(s, now, refund, grant_seq, cap, undo)
  local applied = min(refund, ledger_allowance(s.ledger, grant_seq, s.seq))
  if not (applied > 0) then return s end
  local at = read_at(s, now)
  return {
    level = level_at(s, at, cap) + applied,
    last = at,
    seq = s.seq,
    last_start = start_after_refund(s, grant_seq, undo),
    prev_start = s.prev_start,
    held_until = s.held_until,
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
    held_until = s.held_until,
    ledger = ledger_after_grant(s.ledger, schedule_end(s, at, cap), now, seq),
  }
end
function bucket.hold(s, now, until_us, cap)
  local at = read_at(s, now)
  local held = min(level_at(s, at, cap), -(until_us - at))
  local seq = next_seq(s.seq, now)
  return {
    level = held,
    last = at,
    seq = seq,
    last_start = s.last_start,
    prev_start = s.last_start,
    held_until = max(s.held_until, until_us),
    ledger = ledger_after_grant(s.ledger, schedule_end(s, at, cap), until_us + cap, seq),
  }
end
function bucket.free(s, now, cap)
  local at = read_at(s, now)
  return level_at(s, at, cap) - (at - now)
end
function bucket.fifo(s, now)
  return max(0, s.last_start - now)
end
function bucket.idle_at(s, cap)
  if s.seq == 0 and s.last == 0 then return 0 end
  return s.last + cap - s.level
end

-- heldUs in gcra.ts, for both algorithms.
local function held_us(s, now)
  return max(0, s.held_until - now)
end

local algorithms = { g = gcra, t = bucket }

local function load(key, algo)
  return algorithms[algo].decode(redis.call('GET', key), key)
end

-- Writes a state that expires once it equals a fresh key; slack_ms keeps it a little longer.
local function save(key, algo, s, now, cap, slack_ms)
  local ops = algorithms[algo]
  -- Kept until it equals a fresh key, and until the clock passes its event numbers (an old
  -- permit must never match a new life's latest event) and its latest granted start.
  local idle_in = max(ops.idle_at(s, cap), s.seq, s.last_start) - now
  local ttl = slack_ms
  if idle_in > 0 then ttl = ttl + math.ceil(idle_in / 1000) end
  redis.call('SET', key, ops.encode(s), 'PX', string.format('%.0f', ttl))
end
`;
