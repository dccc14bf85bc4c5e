/**
 * The limiter math in Lua, prefixed to every script. It mirrors gcra.ts and token-bucket.ts
 * function for function (same names, snake_case) so the two can be read side by side; the
 * differential test holds them equal. Only +, -, max and min on integers below 2^53: Lua 5.1
 * numbers are doubles, which are exact there, and costs arrive already converted to µs.
 *
 * Needs Redis >= 5, where scripts replicate by effects, so reading TIME before writing is
 * allowed. States are stored as one string per key ("tat seq" or "level last seq")
 * so that a write and its idle TTL are one `SET ... PX`.
 */
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

-- gcra.ts
local gcra = {}
function gcra.decode(raw)
  if not raw then return { tat = 0, seq = 0 } end
  local tat, seq = string.match(raw, '^(%-?%d+) (%-?%d+)$')
  return { tat = tonumber(tat), seq = tonumber(seq) }
end
function gcra.encode(s)
  return string.format('%.0f %.0f', s.tat, s.seq)
end
function gcra.wait(s, now, cost, cap)
  return math.max(0, math.max(s.tat, now) + cost - cap - now)
end
function gcra.grant(s, now, start, cost, _cap)
  return { tat = math.max(s.tat, start) + cost, seq = next_seq(s.seq, now) }
end
function gcra.refund(s, _now, refund, grant_seq, _cap)
  if grant_seq ~= s.seq then return s end
  return { tat = math.max(s.tat - refund, 0), seq = s.seq }
end
function gcra.charge(s, now, extra, _cap)
  return { tat = math.max(s.tat, now) + extra, seq = s.seq }
end
function gcra.hold(s, now, until_us, cap)
  return { tat = math.max(s.tat, until_us + cap), seq = next_seq(s.seq, now) }
end
function gcra.free(s, now, cap)
  return cap - math.max(0, s.tat - now)
end
-- When the key is full again, so equal to a fresh one: the end of its TTL.
function gcra.idle_at(s, _cap)
  return s.tat
end

-- token-bucket.ts
local bucket = {}
function bucket.decode(raw)
  if not raw then return { level = 0, last = 0, seq = 0 } end
  local level, last, seq = string.match(raw, '^(%-?%d+) (%-?%d+) (%-?%d+)$')
  return { level = tonumber(level), last = tonumber(last), seq = tonumber(seq) }
end
function bucket.encode(s)
  return string.format('%.0f %.0f %.0f', s.level, s.last, s.seq)
end
local function read_at(s, now)
  return math.max(now, s.last)
end
local function level_at(s, at, cap)
  if s.seq == 0 and s.last == 0 then return cap end
  return math.min(cap, s.level + (at - s.last))
end
function bucket.level(s, now, cap)
  return level_at(s, read_at(s, now), cap)
end
function bucket.wait(s, now, cost, cap)
  local at = read_at(s, now)
  return at - now + math.max(0, cost - level_at(s, at, cap))
end
function bucket.grant(s, now, start, cost, cap)
  local at = read_at(s, now)
  local at_start = math.min(cap, level_at(s, at, cap) + (start - at))
  return { level = at_start - cost - (start - at), last = at, seq = next_seq(s.seq, now) }
end
function bucket.refund(s, now, refund, grant_seq, cap)
  if grant_seq ~= s.seq then return s end
  local at = read_at(s, now)
  return { level = level_at(s, at, cap) + refund, last = at, seq = s.seq }
end
function bucket.charge(s, now, extra, cap)
  local at = read_at(s, now)
  return { level = level_at(s, at, cap) - extra, last = at, seq = s.seq }
end
function bucket.hold(s, now, until_us, cap)
  local at = read_at(s, now)
  local held = math.min(level_at(s, at, cap), -(until_us - at))
  return { level = held, last = at, seq = next_seq(s.seq, now) }
end
function bucket.free(s, now, cap)
  local at = read_at(s, now)
  return level_at(s, at, cap) - (at - now)
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
  local idle_in = ops.idle_at(s, cap) - now
  local ttl = slack_ms
  if idle_in > 0 then ttl = ttl + math.ceil(idle_in / 1000) end
  redis.call('SET', key, ops.encode(s), 'PX', string.format('%.0f', ttl))
end
`;
