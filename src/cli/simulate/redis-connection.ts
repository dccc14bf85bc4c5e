/**
 * Redis connections of `simulate`: the parent checks once that the URL answers, then each worker
 * process opens its own connections with the same settings.
 */
import type { Redis } from 'ioredis';
import { importPeer, MissingPackageError } from './traffic.js';

/** Opens a connection to `url` that has answered a PING; rejects when it does not within 2 s. */
export async function openRedis(url: string): Promise<Redis> {
  const { Redis } = await importPeer<typeof import('ioredis')>('ioredis');
  // Not lazyConnect: Bottleneck duplicates the client for its subscriber, and a lazy copy never
  // connects.
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
  // Errors surface through the commands that fail; an unhandled 'error' event would crash.
  client.on('error', () => {});
  try {
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

/** Whether a Redis answers at `url` within 2 s; a missing ioredis is thrown, not a no. */
export async function redisAnswers(url: string): Promise<boolean> {
  try {
    (await openRedis(url)).disconnect();
    return true;
  } catch (error) {
    if (error instanceof MissingPackageError) throw error;
    return false;
  }
}

/** The URL without its credentials, for messages. */
export function maskRedisUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
