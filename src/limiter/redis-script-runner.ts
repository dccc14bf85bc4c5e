import { createHash } from 'node:crypto';
import type { RedisScript } from './lua/scripts.js';

/**
 * The only Redis commands a RedisStore sends. An ioredis `Redis` or `Cluster` satisfies it; so
 * does any client with the same three methods.
 */
export interface RedisScriptClient {
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  ping(): Promise<string>;
}

const shas = new WeakMap<RedisScript, string>();

/** SHA1 of a script's source, computed here rather than asked of the server. */
export function scriptSha(script: RedisScript): string {
  let sha = shas.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script.source).digest('hex');
    shas.set(script, sha);
  }
  return sha;
}

/** True for the server's "unknown script" reply (after SCRIPT FLUSH, a restart or a failover). */
export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs a script by EVALSHA; the one place that handles NOSCRIPT, by sending the source once by
 * EVAL (which also caches it on that server, so the next EVALSHA hits). On a Cluster, ioredis
 * routes both by the first key, so the script lands on the node that owns the store's slot.
 */
export async function runScript(
  client: RedisScriptClient,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const argv = [...keys, ...args];
  try {
    return await client.evalsha(scriptSha(script), keys.length, ...argv);
  } catch (error) {
    if (!isNoScriptError(error)) throw error;
    return client.eval(script.source, keys.length, ...argv);
  }
}
