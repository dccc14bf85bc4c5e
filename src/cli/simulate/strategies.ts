/**
 * The strategies `simulate` compares, as one worker process of an application would have them:
 * its own SDK client, its own limiter objects and, when Redis is used, its own Redis connection.
 * Each worker runs in its own process (worker-process.ts), so what workers share is exactly what
 * an application's processes share: Redis, or nothing.
 */
import type { Redis } from 'ioredis';
import type { ProviderPolicyOptions } from '../../pipeline/pipeline-options.js';
import type { Quota, Scenario, StrategyName } from './args.js';
import { importPeer, makeClient, promptOf, type SdkClient, sendCall } from './traffic.js';

/** One call of this worker; resolves when the call succeeded, rejects otherwise. */
export type WorkerCall = (index: number, signal: AbortSignal) => Promise<void>;

/** One worker's side of a strategy. */
export interface WorkerStrategy {
  readonly call: WorkerCall;
  /** How the budget is kept, for the report: `one budget shared through Redis`... */
  readonly note: string;
  close(): Promise<void>;
}

export interface WorkerContext {
  readonly scenario: Scenario;
  /** The simulator's origin. */
  readonly url: string;
  /** Opens this worker's Redis connection, when a Redis answered. */
  readonly redis: (() => Promise<Redis>) | undefined;
  /** Unique per run and strategy: every worker of the strategy uses the same keys. */
  readonly keyPrefix: string;
}

/** The strategies that share one budget between the workers when Redis is there. */
export const SHARING_STRATEGIES: readonly StrategyName[] = [
  'llm-resilience',
  'rate-limiter-flexible',
  'bottleneck',
];

/** The limits strategies are configured with: the quota × `limitFactor`, whole units. */
export function configuredLimits(scenario: Scenario): Quota {
  return Object.fromEntries(
    Object.entries(scenario.quota).map(([k, v]) => [
      k,
      Math.max(1, Math.round((v ?? 0) * scenario.limitFactor)),
    ]),
  );
}

/**
 * Without Redis a budget in memory cannot be shared between processes: the honest set-up is a
 * static split, each worker configured with its share of the quota (rounded down).
 */
export function workerShare(scenario: Scenario): Quota {
  return Object.fromEntries(
    Object.entries(configuredLimits(scenario)).map(([k, v]) => [
      k,
      Math.max(1, Math.floor((v ?? 0) / scenario.workers)),
    ]),
  );
}

/**
 * Why one worker's share cannot carry a call (a dimension's share below one call's start cost),
 * or `undefined` when it can: a limiter would then never admit it.
 */
export function shareTooSmall(scenario: Scenario): string | undefined {
  const share = workerShare(scenario);
  const costs = startCosts(scenario);
  for (const [dimension, cost] of Object.entries(costs)) {
    const limit = share[dimension as keyof Quota] ?? 0;
    if (limit < cost)
      return `without Redis each of the ${scenario.workers} workers gets 1/${scenario.workers} of the quota, and its ${dimension} share (${limit}) is below one call's ${cost}: give fewer --workers, or --redis`;
  }
  return undefined;
}

/** Builds this worker's side of strategy `name`. */
export async function createWorker(
  name: StrategyName,
  context: WorkerContext,
): Promise<WorkerStrategy> {
  switch (name) {
    case 'llm-resilience':
      return pipelineWorker(context, 'shared');
    case 'per-process':
      return pipelineWorker(context, 'full-quota');
    case 'naive':
      return naiveWorker(context);
    case 'rate-limiter-flexible':
      return rateLimiterFlexibleWorker(context);
    case 'bottleneck':
      return bottleneckWorker(context);
  }
}

function sharedNote(scenario: Scenario, what: string): string {
  const share = Object.entries(workerShare(scenario))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `no Redis: ${what} in each worker process at 1/${scenario.workers} of the quota (${share})`;
}

/** Sends call `index` through `around`, which wraps the send in the strategy's limiting. */
function callsThrough(
  sdk: SdkClient,
  scenario: Scenario,
  around: (send: (signal: AbortSignal) => Promise<number>, signal: AbortSignal) => Promise<void>,
): WorkerCall {
  const prompt = promptOf(scenario.traffic.promptTokens);
  return (index, signal) =>
    around((s) => sendCall(sdk, scenario.model, scenario.traffic, prompt, index, s), signal);
}

/**
 * llm-resilience's provider pipeline with the real SDK (`fetch: policy.fetch, maxRetries: 0`).
 * `shared`: one budget for every worker through Redis, else a share per worker in memory.
 * `full-quota`: an in-memory budget at the full quota in each worker, the multi-worker mistake.
 */
async function pipelineWorker(
  context: WorkerContext,
  sharing: 'shared' | 'full-quota',
): Promise<WorkerStrategy> {
  const { anthropicPolicy, openaiPolicy, wrap } = await import('../../index.js');
  const { MemoryBudgetStore } = await import('../../stores/memory-budget-store.js');
  const { scenario } = context;
  const viaRedis = sharing === 'shared' && context.redis !== undefined;
  const redis = viaRedis ? await context.redis!() : undefined;
  const limits =
    sharing === 'shared' && !viaRedis ? workerShare(scenario) : configuredLimits(scenario);
  const options: ProviderPolicyOptions = {
    model: scenario.model,
    limits,
    periodMs: scenario.periodMs,
    outputTokens: scenario.outputCounting,
    key: `${context.keyPrefix}budget`,
    // Every call of a worker is in flight or waiting for budget: no bulkhead queue overflow.
    bulkhead: { maxConcurrent: scenario.inFlightPerWorker, maxQueue: scenario.inFlightPerWorker },
    ...(redis ? { redis } : { store: new MemoryBudgetStore() }),
  };
  const policy = (scenario.provider === 'anthropic' ? anthropicPolicy : openaiPolicy)(options);
  const sdk = await makeClient(scenario.provider, context.url, {
    maxRetries: 0,
    fetch: policy.fetch,
  });
  const wrapped = wrap(policy);
  return {
    call: callsThrough(sdk, scenario, async (send, signal) => {
      await wrapped.execute(({ signal: s }) => send(s), signal);
    }),
    note:
      sharing === 'full-quota'
        ? 'in memory, one budget per worker process at the full quota'
        : viaRedis
          ? 'one budget shared through Redis'
          : sharedNote(scenario, 'an in-memory budget'),
    async close() {
      policy.dispose();
      await quit(redis);
    },
  };
}

async function quit(redis: Redis | undefined): Promise<void> {
  await redis?.quit().catch(() => redis.disconnect());
}

/** The SDK alone, with its default retries (2, honouring retry-after), no limiter. */
async function naiveWorker(context: WorkerContext): Promise<WorkerStrategy> {
  const sdk = await makeClient(context.scenario.provider, context.url, {});
  return {
    call: callsThrough(sdk, context.scenario, async (send, signal) => {
      await send(signal);
    }),
    note: 'no limiter; SDK default retries',
    close: async () => {},
  };
}

/** Costs of one call on each configured dimension, charged before it starts (what the provider charges). */
function startCosts(scenario: Scenario): Record<string, number> {
  const { promptTokens, maxTokens } = scenario.traffic;
  const costs: Record<string, number> = {};
  for (const dimension of Object.keys(scenario.quota)) {
    if (dimension === 'rpm') costs.rpm = 1;
    else if (dimension === 'itpm') costs.itpm = promptTokens;
    else if (dimension === 'otpm') costs.otpm = maxTokens;
    else if (dimension === 'tpm') costs.tpm = promptTokens + maxTokens;
  }
  return costs;
}

/** Unused output returned after a call, on the dimensions that charged `max_tokens`. */
function unusedOf(scenario: Scenario, output: number): Record<string, number> {
  const unused = Math.max(0, scenario.traffic.maxTokens - output);
  const back: Record<string, number> = {};
  for (const dimension of Object.keys(scenario.quota))
    if (dimension === 'otpm' || dimension === 'tpm') back[dimension] = unused;
  return back;
}

function sleepOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * rate-limiter-flexible: one limiter per dimension at the configured quota (RateLimiterRedis), or
 * at this worker's share without Redis (RateLimiterMemory), fixed windows of one period. Each
 * call consumes its start costs on every dimension (giving back what it counted, the refused
 * dimension's included, when one says no, then waiting as long as that one asks), runs with the
 * SDK's default retries, and rewards the unused output afterwards.
 */
async function rateLimiterFlexibleWorker(context: WorkerContext): Promise<WorkerStrategy> {
  type Rlf = typeof import('rate-limiter-flexible');
  const rlf = await importPeer<Rlf>('rate-limiter-flexible');
  const { scenario } = context;
  const costs = startCosts(scenario);
  const duration = scenario.periodMs / 1000;
  const redis = context.redis ? await context.redis() : undefined;
  const limits = redis ? configuredLimits(scenario) : workerShare(scenario);
  const limiters = Object.fromEntries(
    Object.entries(limits).map(([d, points]) => {
      const keyPrefix = `${context.keyPrefix}${d}`;
      return [
        d,
        redis
          ? new rlf.RateLimiterRedis({ storeClient: redis, points, duration, keyPrefix })
          : new rlf.RateLimiterMemory({ points, duration, keyPrefix }),
      ];
    }),
  ) as Record<string, InstanceType<Rlf['RateLimiterMemory']>>;
  const sdk = await makeClient(scenario.provider, context.url, {});
  const acquire = async (signal: AbortSignal) => {
    for (;;) {
      // A refused `consume` has counted its points all the same (its script increments before
      // it compares): they are rewarded too, or every refusal would spend the window's quota.
      const counted: string[] = [];
      let refused = false;
      let waitMs = 0;
      for (const [d, cost] of Object.entries(costs)) {
        counted.push(d);
        try {
          await limiters[d]!.consume('org', cost);
        } catch (refusal) {
          if (refusal instanceof Error) throw refusal;
          refused = true;
          waitMs = (refusal as { msBeforeNext: number }).msBeforeNext;
          break;
        }
      }
      if (!refused) return;
      await Promise.all(counted.map((d) => limiters[d]!.reward('org', costs[d]!)));
      await sleepOrAbort(Math.max(1, waitMs), signal);
    }
  };
  return {
    call: callsThrough(sdk, scenario, async (send, signal) => {
      await acquire(signal);
      const output = await send(signal);
      await Promise.all(
        Object.entries(unusedOf(scenario, output)).map(([d, n]) =>
          n > 0 ? limiters[d]!.reward('org', n) : undefined,
        ),
      );
    }),
    note: redis
      ? 'RateLimiterRedis, shared through Redis; SDK retries'
      : `${sharedNote(scenario, 'RateLimiterMemory')}; SDK retries`,
    close: () => quit(redis),
  };
}

/**
 * Bottleneck: one limiter per dimension whose reservoir holds the configured quota and is refilled
 * every period, clustered through Redis (`IORedisConnection`, the same limiter id in every worker)
 * or, without Redis, a local one at this worker's share. Each call takes its start costs as job
 * weights, runs with the SDK's default retries, and gives the unused output back with
 * `incrementReservoir`.
 */
async function bottleneckWorker(context: WorkerContext): Promise<WorkerStrategy> {
  type BottleneckModule = typeof import('bottleneck');
  const { default: Bottleneck } = await importPeer<BottleneckModule>('bottleneck');
  const { scenario } = context;
  const costs = startCosts(scenario);
  const redis = context.redis ? await context.redis() : undefined;
  const limits = redis ? configuredLimits(scenario) : workerShare(scenario);
  const connection = redis ? new Bottleneck.IORedisConnection({ client: redis }) : undefined;
  const limiters = Object.fromEntries(
    Object.keys(limits).map((d) => {
      const limiter = new Bottleneck({
        id: `${context.keyPrefix}${d}`,
        reservoir: limits[d as keyof Quota]!,
        reservoirRefreshAmount: limits[d as keyof Quota]!,
        reservoirRefreshInterval: scenario.periodMs,
        ...(connection && {
          datastore: 'ioredis',
          connection,
          clearDatastore: false,
          // Clustered, Bottleneck refreshes the reservoir on its heartbeat, every 5 s unless told:
          // a compressed period of 1 s would be refilled once in five.
          heartbeatInterval: Math.min(1_000, scenario.periodMs / 4),
        }),
      });
      // Bottleneck reports its own errors (a lost connection) as events; calls fail on their own.
      limiter.on('error', () => {});
      return [d, limiter];
    }),
  );
  await Promise.all(Object.values(limiters).map((l) => l.ready()));
  const sdk = await makeClient(scenario.provider, context.url, {});
  return {
    call: callsThrough(sdk, scenario, async (send, signal) => {
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      aborted.catch(() => {});
      await Promise.race([
        Promise.all(
          Object.entries(costs).map(([d, weight]) =>
            limiters[d]!.schedule({ weight }, async () => {}),
          ),
        ),
        aborted,
      ]);
      const output = await send(signal);
      await Promise.all(
        Object.entries(unusedOf(scenario, output)).map(([d, n]) =>
          n > 0 ? limiters[d]!.incrementReservoir(n) : undefined,
        ),
      );
    }),
    note: redis
      ? 'Bottleneck clustered through Redis; SDK retries'
      : `${sharedNote(scenario, 'a local Bottleneck per dimension')}; SDK retries`,
    async close() {
      // Either may return nothing (a clustered limiter whose connection is shared) or reject.
      const settle = (f: () => unknown) =>
        Promise.resolve()
          .then(f)
          .catch(() => {});
      const all = Object.values(limiters);
      await Promise.all(all.map((l) => settle(() => l.stop({ dropWaitingJobs: true }))));
      await Promise.all(all.map((l) => settle(() => l.disconnect(false))));
      // The connection's subscriber is a duplicate of our client: only the connection closes it.
      if (connection) await settle(() => connection.disconnect(false));
      await quit(redis);
    },
  };
}
