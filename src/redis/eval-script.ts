import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script as data: its source and how many of its arguments are keys. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly numberOfKeys: number;
}

/** The only Redis client surface the policies use for scripts. */
export type ScriptClient = Pick<Redis | Cluster, 'evalsha' | 'eval'>;

const shas = new WeakMap<LuaScript, string>();

function shaOf(script: LuaScript): string {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script.source).digest('hex');
    shas.set(script, sha);
  }
  return sha;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs `script` by EVALSHA (hash computed locally); when the server does not know it (first use,
 * after a restart or a failover) sends it once in full with EVAL. The one place that handles
 * NOSCRIPT.
 */
export async function evalScript(
  client: ScriptClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (keys.length !== script.numberOfKeys) {
    throw new Error(`Script ${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  }
  try {
    return await client.evalsha(shaOf(script), keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.eval(script.source, keys.length, ...keys, ...args);
  }
}
