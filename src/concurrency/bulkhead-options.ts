import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../clock.js';

export interface BulkheadPolicyOptions {
  /**
   * Calls allowed to run at once: in this process, or across every worker sharing `key` when
   * `redis` is given. An integer >= 1.
   * @default 20
   */
  maxConcurrent?: number;
  /**
   * Calls allowed to wait for a place (in this process); beyond it calls are rejected at once
   * with cockatiel's `BulkheadRejectedError`. An integer >= 0.
   * @default 100
   */
  maxQueue?: number;
  /** With a Redis client, the limit is cluster-wide (a Redis semaphore); requires `key`. */
  redis?: Redis | Cluster;
  /** Redis key of the semaphore (a sorted set of leases). Required with `redis`. */
  key?: string;
  /**
   * Lifetime of a cluster-wide permit unless renewed, in ms. Running calls renew it every
   * `leaseMs / 3`; a crashed worker's permit comes back after at most `leaseMs`. At most
   * 2^31 - 1 (about 24.8 days).
   * @default 30_000
   */
  leaseMs?: number;
  /**
   * With `redis`: how often a queued call asks Redis again for a permit, in ms (jittered ±50%).
   * A permit released in this process is handed on at once.
   * @default 50
   */
  pollIntervalMs?: number;
  /** Time source for polls and renewals. @default systemClock */
  clock?: Clock;
  /** Random source in [0, 1) for the poll jitter. @default Math.random */
  random?: () => number;
}

export const BULKHEAD_DEFAULTS = {
  maxConcurrent: 20,
  maxQueue: 100,
  leaseMs: 30_000,
  pollIntervalMs: 50,
} as const;

/** What `inspect()` returns: this process's view. */
export interface BulkheadSnapshot {
  /** Calls running now (in this process). */
  executing: number;
  /** Calls waiting for a place (in this process). */
  queued: number;
}

/** Fired when a call is refused because every place and the queue are taken. */
export interface BulkheadRejectEvent {
  maxConcurrent: number;
  maxQueue: number;
}
