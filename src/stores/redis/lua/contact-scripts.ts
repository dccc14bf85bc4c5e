import type { LuaScript } from '../../../redis/eval-script.js';

/**
 * First contact shared by a budget's workers (pipeline/first-contact.ts), one hash per budget:
 * `state` (`probe` while a worker's lease runs, then `open`) and `notice`, the JSON of what the
 * provider's answers taught (a quota stop, its limits, an output). KEYS[1] is the hash.
 */

/**
 * ARGV: lease ms (0: only look). Returns { 2 open | 1 probe (lease taken) | 0 wait, the notice's
 * JSON or '' }.
 */
export const contactEnterScript: LuaScript = {
  name: 'contact-enter',
  numberOfKeys: 1,
  source: `
local state = redis.call('HGET', KEYS[1], 'state')
local notice = redis.call('HGET', KEYS[1], 'notice') or ''
if state == 'open' then return {2, notice} end
if state == 'probe' or ARGV[1] == '0' then return {0, notice} end
redis.call('HSET', KEYS[1], 'state', 'probe')
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return {1, notice}
`,
};

/**
 * ARGV: TTL ms, the notice's JSON, channel, budget name. Merges the notice into the recorded one
 * (a later quota stop wins; newer limits and output replace older), keeps it for the TTL and
 * publishes `<name> <the notice's JSON>` on the channel: listeners hear what is new, a worker
 * starting later reads the whole record.
 */
export const contactMadeScript: LuaScript = {
  name: 'contact-made',
  numberOfKeys: 1,
  source: `
local old = redis.call('HGET', KEYS[1], 'notice')
local merged = {}
if old then merged = cjson.decode(old) end
local new = cjson.decode(ARGV[2])
for k, v in pairs(new) do
  if k ~= 'stoppedUntil' or merged[k] == nil or v > merged[k] then merged[k] = v end
end
local json = cjson.encode(merged)
redis.call('HSET', KEYS[1], 'state', 'open', 'notice', json)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. ARGV[2])
return 1
`,
};
