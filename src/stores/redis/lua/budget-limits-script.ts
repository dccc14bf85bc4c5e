/**
 * The record of a budget key's limit, a small hash beside its queue (`{prefix}:l:<name>`), so
 * that `inspect` can show limits without being told them. A script of its own: the queue's
 * scripts (budget-scripts.ts) stay as they are, and the record is written apart from them.
 */
import type { LuaScript } from '../../../redis/eval-script.js';

/**
 * KEYS[1] = the limits hash. ARGV = limit, burst (both in units of the limit, not of the rate),
 * unit, period µs, TTL ms. Sets the fields `limit`, `burst`, `unit`, `periodUs`, keeps in
 * `highest` the highest limit written while the hash lives (the configured one, where `limit`
 * may be a lower one adopted from the provider or an adaptive cut), and sets the TTL. Returns
 * `highest`.
 */
export const budgetLimitsScript: LuaScript = {
  name: 'budget-limits',
  numberOfKeys: 1,
  source: `
local limit = tonumber(ARGV[1])
local highest = tonumber(redis.call('HGET', KEYS[1], 'highest') or '0') or 0
if limit > highest then highest = limit end
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'burst', ARGV[2], 'unit', ARGV[3],
  'periodUs', ARGV[4], 'highest', highest)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return highest
`,
};

/** KEYS[1] = the limits hash. Reads only. Returns {limit, burst, unit, periodUs, highest} (nils when absent). */
export const budgetLimitsReadScript: LuaScript = {
  name: 'budget-limits-read',
  numberOfKeys: 1,
  source: `return redis.call('HMGET', KEYS[1], 'limit', 'burst', 'unit', 'periodUs', 'highest')`,
};
