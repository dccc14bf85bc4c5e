import { createHash } from 'node:crypto';

/** A Lua script as data: its source and how many of its arguments are keys. */
export interface LuaScript {
  /** Short name for errors and docs. */
  readonly name: string;
  /** Lua source, sent once by EVAL when the server does not know its SHA1. */
  readonly source: string;
  /** Number of KEYS, or 'variadic' when the caller passes them (a group's members). */
  readonly numberOfKeys: number | 'variadic';
}

/**
 * The Redis commands the library sends. An ioredis `Redis` or `Cluster` satisfies it; so does any
 * client with the same three methods.
 */
export interface RedisScriptClient {
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  ping(): Promise<string>;
}

/** What running a script needs. */
export type ScriptClient = Pick<RedisScriptClient, 'evalsha' | 'eval'>;

const shas = new WeakMap<LuaScript, string>();

/** SHA1 of a script's source, computed here rather than asked of the server. */
export function scriptSha(script: LuaScript): string {
  let sha = shas.get(script);
  if (!sha) {
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
 * Runs `script` by EVALSHA (hash computed locally); when the server does not know it (first use,
 * after a restart, SCRIPT FLUSH or a failover) sends it once in full with EVAL, which also caches
 * it there. The one place that handles NOSCRIPT. On a Cluster, ioredis routes both by the first
 * key, so the script runs on the node that owns the keys' slot.
 */
export async function evalScript(
  client: ScriptClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (script.numberOfKeys !== 'variadic' && keys.length !== script.numberOfKeys) {
    throw new Error(`Script ${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  }
  const argv = [...keys, ...args];
  try {
    return await client.evalsha(scriptSha(script), keys.length, ...argv);
  } catch (error) {
    if (!isNoScriptError(error)) throw error;
    return await client.eval(script.source, keys.length, ...argv);
  }
}
