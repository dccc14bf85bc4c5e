import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { checkCallbacks, checkKnownKeys, optionKeys } from '../options/check-options.js';

/** Sample-based opening (cockatiel's `SamplingBreaker`) instead of consecutive failures. */
export interface CircuitSamplingOptions {
  /** Share of failed calls, in (0, 1), over `durationMs` above which the circuit opens. */
  threshold: number;
  /** Length of the sampling window, in ms. */
  durationMs: number;
  /**
   * Minimum calls per second before the circuit may open (avoids opening on a trickle).
   * @default cockatiel's: enough for 5 failures per second at the threshold
   */
  minimumRps?: number;
}

/** Share one circuit between workers through Redis. */
export interface SharedCircuitOptions {
  /** ioredis client (Redis or Cluster). */
  redis: Redis | Cluster;
  /** Redis key of the circuit (a hash); workers using the same key share one circuit. */
  key: string;
  /**
   * How often each worker reads the shared state, in ms. Changes reach subscribed workers within
   * a few ms by Redis pub/sub; this poll is the safety net for a change published while a
   * worker's subscriber connection was down.
   * @default 250
   */
  syncIntervalMs?: number;
  /**
   * How long the one worker allowed to probe may hold the probe, in ms; if it dies, another
   * worker may probe after this. Set it above your call timeout: the lease is not renewed while
   * the probe runs.
   * @default halfOpenAfterMs, at least 1000
   */
  probeLeaseMs?: number;
}

export interface CircuitBreakerPolicyOptions {
  /**
   * Consecutive failures that open the circuit (ignored when `sampling` is given).
   * @default 5
   */
  consecutiveFailures?: number;
  /**
   * How long the circuit stays open before one probe call may test the provider, in ms.
   * @default 30_000
   */
  halfOpenAfterMs?: number;
  /** Open on a failure rate over a window instead of consecutive failures. */
  sampling?: CircuitSamplingOptions;
  /**
   * cockatiel's half-open sampling: how many calls are let through while half-open and the share
   * of them that may fail. Local circuits only.
   * @default { calls: 1, threshold: 0 }
   */
  halfOpenSampling?: { calls: number; threshold: number };
  /**
   * Which errors count against the circuit.
   * @default isProviderFailure — 5xx, 529, timeouts and connection errors; 429s, client errors,
   * aborts and non-provider errors do not.
   */
  isFailure?: (error: unknown) => boolean;
  /** Share the circuit between workers through Redis. */
  shared?: SharedCircuitOptions;
  /** Time source for `since`. @default systemClock */
  clock?: Clock;
}

export const CIRCUIT_DEFAULTS = {
  consecutiveFailures: 5,
  halfOpenAfterMs: 30_000,
  syncIntervalMs: 250,
} as const;

const WHERE = 'circuitBreakerPolicy()';
const OPTION_KEYS = optionKeys<CircuitBreakerPolicyOptions>({
  consecutiveFailures: true,
  halfOpenAfterMs: true,
  sampling: true,
  halfOpenSampling: true,
  isFailure: true,
  shared: true,
  clock: true,
});
/** What cockatiel, opossum and others call these options. */
const ALIASES = {
  threshold: 'consecutiveFailures',
  failurethreshold: 'consecutiveFailures',
  failures: 'consecutiveFailures',
  halfopenafter: 'halfOpenAfterMs',
  resettimeout: 'halfOpenAfterMs',
  cooldownms: 'halfOpenAfterMs',
  handle: 'isFailure',
};
const SAMPLING_KEYS = optionKeys<CircuitSamplingOptions>({
  threshold: true,
  durationMs: true,
  minimumRps: true,
});
const HALF_OPEN_SAMPLING_KEYS = optionKeys<{ calls: number; threshold: number }>({
  calls: true,
  threshold: true,
});
const SHARED_KEYS = optionKeys<SharedCircuitOptions>({
  redis: true,
  key: true,
  syncIntervalMs: true,
  probeLeaseMs: true,
});

const DAY_MS = 86_400_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Refuses unknown keys and nonsensical options with a message naming option, range and value. */
export function validate(options: CircuitBreakerPolicyOptions): void {
  checkKnownKeys(options, OPTION_KEYS, WHERE, { aliases: ALIASES });
  checkCallbacks(options, ['isFailure']);
  checkKnownKeys(options.sampling, SAMPLING_KEYS, WHERE, {
    path: 'sampling',
    aliases: { duration: 'durationMs' },
  });
  checkKnownKeys(options.halfOpenSampling, HALF_OPEN_SAMPLING_KEYS, WHERE, {
    path: 'halfOpenSampling',
  });
  checkKnownKeys(options.shared, SHARED_KEYS, WHERE, { path: 'shared' });
  const n = options.consecutiveFailures;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) {
    throw new InvalidConfigError('consecutiveFailures', 'an integer >= 1', n);
  }
  const h = options.halfOpenAfterMs;
  if (h !== undefined && !(Number.isFinite(h) && h >= 0)) {
    throw new InvalidConfigError('halfOpenAfterMs', 'a finite number of ms >= 0', h);
  }
  const s = options.sampling;
  if (s) {
    if (!(Number.isFinite(s.threshold) && s.threshold > 0 && s.threshold < 1)) {
      throw new InvalidConfigError('sampling.threshold', 'a number in (0, 1)', s.threshold);
    }
    if (s.minimumRps !== undefined && !(Number.isFinite(s.minimumRps) && s.minimumRps > 0)) {
      throw new InvalidConfigError('sampling.minimumRps', 'a positive number', s.minimumRps);
    }
    // cockatiel keeps one window per second of the duration: a day is 86,400 of them.
    if (!(Number.isFinite(s.durationMs) && s.durationMs > 0 && s.durationMs <= DAY_MS)) {
      throw new InvalidConfigError(
        'sampling.durationMs',
        'a positive number of ms, at most a day (86_400_000)',
        s.durationMs,
      );
    }
  }
  const hs = options.halfOpenSampling;
  if (hs) {
    if (!(Number.isSafeInteger(hs.calls) && hs.calls >= 1)) {
      throw new InvalidConfigError('halfOpenSampling.calls', 'an integer >= 1', hs.calls);
    }
    if (!(Number.isFinite(hs.threshold) && hs.threshold >= 0 && hs.threshold < 1)) {
      throw new InvalidConfigError(
        'halfOpenSampling.threshold',
        'a number in [0, 1)',
        hs.threshold,
      );
    }
  }
  const sh = options.shared;
  if (sh) {
    if (typeof sh.key !== 'string' || sh.key.length === 0) {
      throw new InvalidConfigError('shared.key', 'a non-empty string', sh.key);
    }
    const i = sh.syncIntervalMs;
    // Node fires a longer setInterval after 1 ms, which would poll Redis non-stop.
    if (i !== undefined && !(Number.isFinite(i) && i >= 10 && i <= MAX_TIMER_MS)) {
      throw new InvalidConfigError('shared.syncIntervalMs', 'a number of ms in [10, 2^31 - 1]', i);
    }
    const l = sh.probeLeaseMs;
    if (l !== undefined && !(Number.isFinite(l) && l > 0)) {
      throw new InvalidConfigError('shared.probeLeaseMs', 'a positive number of ms', l);
    }
  }
}
