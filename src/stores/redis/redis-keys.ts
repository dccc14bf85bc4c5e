/**
 * Redis key names of a RedisStore: `{prefix}:g:<name>` (GCRA) or `{prefix}:t:<name>` (token
 * bucket). The prefix in braces is the Redis Cluster hash tag, so every key of one store lives in
 * one slot and a group over the store is one atomic script call, even on a Cluster. Redis takes
 * the tag from the first `{` to the first `}` after it, so a prefix without braces at the start
 * decides the slot whatever the name holds; the name is still escaped, so that keys stay
 * printable ASCII and the `:` separators stay unambiguous.
 */
import type { AlgorithmName } from '../../limiter/algorithms.js';

const SAFE = /^[A-Za-z0-9._-]*$/;

/**
 * Injective escaping of a key name: `[A-Za-z0-9._-]` kept, other UTF-16 code units below 0x80 as
 * `%XX`, the rest as `%uXXXX` (lower-case hex). Fixed widths and `u` (not a hex digit) make the
 * decoding unique, so distinct names never share a key; lone surrogates are kept distinct too,
 * which UTF-8 or `encodeURIComponent` would not do.
 */
export function encodeKeyName(name: string): string {
  if (SAFE.test(name)) return name;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ch = name[i]!;
    if (
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      ch === '.' ||
      ch === '_' ||
      ch === '-'
    ) {
      out += ch;
    } else if (c < 0x80) {
      out += `%${c.toString(16).padStart(2, '0')}`;
    } else {
      out += `%u${c.toString(16).padStart(4, '0')}`;
    }
  }
  return out;
}

/** The Redis key holding one limiter's state. */
export function redisKey(prefix: string, algorithm: AlgorithmName, name: string): string {
  return `{${prefix}}:${algorithm === 'gcra' ? 'g' : 't'}:${encodeKeyName(name)}`;
}

/** 1 to 128 printable ASCII characters without braces (which would move the hash tag). */
export const PREFIX_PATTERN = /^[!-z|~]{1,128}$/;
