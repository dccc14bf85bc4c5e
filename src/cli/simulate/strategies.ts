/**
 * The strategies `simulate` compares. Each makes, per worker, what one worker process of an
 * application would have: its own SDK client, its own limiter objects and, when Redis is used,
 * its own Redis connection. Workers run as async tasks of this process (docs/cli.md says why), so
 * what they share is exactly what separate processes would share: Redis, or nothing.
 */
import type { Redis } from 'ioredis';
import { wrap } from '../../index.js';
import type { ProviderPolicyOptions } from '../../pipeline/pipeline-options.js';
import type { ProviderPolicy } from '../../pipeline/provider-policy.js';
import { MemoryBudgetStore } from '../../stores/memory-budget-store.js';
import type { Quota, Scenario, StrategyName } from './args.js';
import { importPeer, makeClient, promptOf, type SdkClient, sendCall } from './traffic.js';

/** One worker's way of making a call; resolves when the call succeeded, rejects otherwise. */
export type WorkerCall = (index: number, signal: AbortSignal) => Promise<void>;

export interface StrategyRun {
  /** One call function per worker. */
  readonly workers: readonly WorkerCall[];
  /** How the budget is kept, for the report: `shared through Redis`, `in memory, per worker`... */
  readonly note: string;
  close(): Promise<void>;
}

export interface StrategyContext {
  readonly scenario: Scenario;
  /** The simulator's origin. */
  readonly url: string;
  /** Makes a new Redis connection, when a Redis answered; one per worker. */
  readonly redis: (() => Promise<Redis>) | undefined;
  /** Unique per run and strategy, so runs and parallel users never share keys. */
  readonly keyPrefix: string;
}

/** The limits strategies are configured with: the quota × `limitFactor`, whole units. */
export function configuredLimits(scenario: Scenario): Quota {
  return Object.fromEntries(
    Object.entries(scenario.quota).map(([k, v]) => [
      k,
      Math.max(1, Math.round((v ?? 0) * scenario.limitFactor)),
    ]),
  );
}

export async function createStrategy(
  name: StrategyName,
  context: StrategyContext,
): Promise<StrategyRun> {
  switch (name) {
    case 'llm-resilience':
      return pipelineStrategy(context, 'shared');
    case 'per-process':
      return pipelineStrategy(context, 'per-worker');
    case 'naive':
      return naiveStrategy(context);
    case 'rate-limiter-flexible':
      return rateLimiterFlexibleStrategy(context);
    case 'bottleneck':
      return bottleneckStrategy(context);
  }
}

type Connections = { open(): Promise<Redis>; closeAll(): Promise<void> };

function connections(context: StrategyContext): Connections {
  const opened: Redis[] = [];
  return {
    async open() {
      const client = await context.redis!();
      opened.push(client);
      return client;
    },
    async closeAll() {
      await Promise.all(opened.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

function callLoop(
  sdk: SdkClient,
  context: StrategyContext,
  around: (send: (signal: AbortSignal) => Promise<number>, signal: AbortSignal) => Promise<void>,
): WorkerCall {
  const { scenario } = context;
  const prompt = promptOf(scenario.traffic.promptTokens);
  return (index, signal) =>
    around((s) => sendCall(sdk, scenario.model, scenario.traffic, prompt, index, s), signal);
}

/**
 * llm-resilience's provider pipeline with the real SDK (`fetch: policy.fetch, maxRetries: 0`).
 * `shared`: one budget for every worker, through Redis when one answers, else one in-memory store
 * (the workers are in one process). `per-worker`: each worker its own in-memory budget at the full
 * quota, the multi-worker mistake.
 */
async function pipelineStrategy(
  context: StrategyContext,
  sharing: 'shared' | 'per-worker',
): Promise<StrategyRun> {
  const { anthropicPolicy, openaiPolicy } = await import('../../index.js');
  const { scenario } = context;
  const conns = connections(context);
  const makePolicy = scenario.provider === 'anthropic' ? anthropicPolicy : openaiPolicy;
  const base: ProviderPolicyOptions = {
    model: scenario.model,
    limits: configuredLimits(scenario),
    periodMs: scenario.periodMs,
    outputTokens: scenario.outputCounting,
    key: `${context.keyPrefix}budget`,
    // Every call of a worker is in flight or waiting for budget: no bulkhead queue overflow.
    bulkhead: { maxConcurrent: scenario.inFlightPerWorker, maxQueue: scenario.inFlightPerWorker },
  };
  let note: string;
  let storeFor: () => Promise<Partial<ProviderPolicyOptions>>;
  if (sharing === 'per-worker') {
    note = 'in memory, one budget per worker at the full quota';
    storeFor = async () => ({ store: new MemoryBudgetStore() });
  } else if (context.redis) {
    note = 'one budget shared through Redis';
    storeFor = async () => ({ redis: await conns.open() });
  } else {
    const store = new MemoryBudgetStore();
    note = 'one in-memory budget shared by the in-process workers (no Redis)';
    storeFor = async () => ({ store });
  }
  const policies: ProviderPolicy[] = [];
  const workers: WorkerCall[] = [];
  for (let w = 0; w < scenario.workers; w++) {
    const policy = makePolicy({ ...base, ...(await storeFor()) });
    policies.push(policy);
    const sdk = await makeClient(scenario.provider, context.url, {
      maxRetries: 0,
      fetch: policy.fetch,
    });
    const wrapped = wrap(policy);
    workers.push(
      callLoop(sdk, context, async (send, signal) => {
        await wrapped.execute(({ signal: s }) => send(s), signal);
      }),
    );
  }
  return {
    workers,
    note,
    async close() {
      for (const p of policies) p.dispose();
      await conns.closeAll();
    },
  };
}

/** The SDK alone, with its default retries (2, honouring retry-after), no limiter. */
async function naiveStrategy(context: StrategyContext): Promise<StrategyRun> {
  const workers: WorkerCall[] = [];
  for (let w = 0; w < context.scenario.workers; w++) {
    const sdk = await makeClient(context.scenario.provider, context.url, {});
    workers.push(
      callLoop(sdk, context, async (send, signal) => {
        await send(signal);
      }),
    );
  }
  return { workers, note: 'no limiter; SDK default retries', close: async () => {} };
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
 * rate-limiter-flexible: one limiter per dimension (RateLimiterRedis, or RateLimiterMemory shared
 * by the in-process workers without Redis) at the configured quota, fixed windows of one period.
 * Each call consumes its start costs on every dimension (giving back what it took when one says
 * no, then waiting as long as that one asks), runs with the SDK's default retries, and rewards the
 * unused output afterwards.
 */
async function rateLimiterFlexibleStrategy(context: StrategyContext): Promise<StrategyRun> {
  type Rlf = typeof import('rate-limiter-flexible');
  const rlf = await importPeer<Rlf>('rate-limiter-flexible');
  const { scenario } = context;
  const limits = configuredLimits(scenario);
  const costs = startCosts(scenario);
  const conns = connections(context);
  const duration = scenario.periodMs / 1000;
  const shared = context.redis
    ? undefined
    : Object.fromEntries(
        Object.entries(limits).map(([d, points]) => [
          d,
          new rlf.RateLimiterMemory({ points, duration, keyPrefix: `${context.keyPrefix}${d}` }),
        ]),
      );
  const workers: WorkerCall[] = [];
  for (let w = 0; w < scenario.workers; w++) {
    let limiters: Record<string, InstanceType<Rlf['RateLimiterMemory']>>;
    if (shared) limiters = shared;
    else {
      const storeClient = await conns.open();
      limiters = Object.fromEntries(
        Object.entries(limits).map(([d, points]) => [
          d,
          new rlf.RateLimiterRedis({
            storeClient,
            points,
            duration,
            keyPrefix: `${context.keyPrefix}${d}`,
          }),
        ]),
      ) as unknown as typeof limiters;
    }
    const sdk = await makeClient(scenario.provider, context.url, {});
    const acquire = async (signal: AbortSignal) => {
      for (;;) {
        const taken: string[] = [];
        let waitMs = 0;
        for (const [d, cost] of Object.entries(costs)) {
          try {
            await limiters[d]!.consume('org', cost);
            taken.push(d);
          } catch (refusal) {
            if (refusal instanceof Error) throw refusal;
            waitMs = (refusal as { msBeforeNext: number }).msBeforeNext;
            break;
          }
        }
        if (taken.length === Object.keys(costs).length) return;
        await Promise.all(taken.map((d) => limiters[d]!.reward('org', costs[d]!)));
        await sleepOrAbort(Math.max(1, waitMs), signal);
      }
    };
    workers.push(
      callLoop(sdk, context, async (send, signal) => {
        await acquire(signal);
        const output = await send(signal);
        await Promise.all(
          Object.entries(unusedOf(scenario, output)).map(([d, n]) =>
            n > 0 ? limiters[d]!.reward('org', n) : undefined,
          ),
        );
      }),
    );
  }
  return {
    workers,
    note: shared
      ? 'RateLimiterMemory shared by the in-process workers (no Redis); SDK retries'
      : 'RateLimiterRedis, shared through Redis; SDK retries',
    close: () => conns.closeAll(),
  };
}

/**
 * Bottleneck: one limiter per dimension whose reservoir holds the configured quota and is refilled
 * every period, clustered through Redis (`IORedisConnection`, the same limiter id in every worker)
 * or, without Redis, one local limiter shared by the in-process workers. Each call takes its
 * start costs as job weights, runs with the SDK's default retries, and gives the unused output
 * back with `incrementReservoir`.
 */
async function bottleneckStrategy(context: StrategyContext): Promise<StrategyRun> {
  type BottleneckModule = typeof import('bottleneck');
  const { default: Bottleneck } = await importPeer<BottleneckModule>('bottleneck');
  const { scenario } = context;
  const limits = configuredLimits(scenario);
  const costs = startCosts(scenario);
  const conns = connections(context);
  const all: InstanceType<typeof Bottleneck>[] = [];
  const clustered: InstanceType<typeof Bottleneck.IORedisConnection>[] = [];
  const make = (d: string, connection?: InstanceType<typeof Bottleneck.IORedisConnection>) => {
    const limiter = new Bottleneck({
      id: `${context.keyPrefix}${d}`,
      reservoir: limits[d as keyof Quota]!,
      reservoirRefreshAmount: limits[d as keyof Quota]!,
      reservoirRefreshInterval: scenario.periodMs,
      ...(connection && { datastore: 'ioredis', connection, clearDatastore: false }),
    });
    // Bottleneck reports its own errors (a lost connection) as events; a run reports them at its end.
    limiter.on('error', () => {});
    all.push(limiter);
    return limiter;
  };
  const shared = context.redis
    ? undefined
    : Object.fromEntries(Object.keys(limits).map((d) => [d, make(d)]));
  const workers: WorkerCall[] = [];
  for (let w = 0; w < scenario.workers; w++) {
    let limiters: Record<string, InstanceType<typeof Bottleneck>>;
    if (shared) limiters = shared;
    else {
      const client = await conns.open();
      const connection = new Bottleneck.IORedisConnection({ client });
      clustered.push(connection);
      limiters = Object.fromEntries(Object.keys(limits).map((d) => [d, make(d, connection)]));
      await Promise.all(Object.values(limiters).map((l) => l.ready()));
    }
    const sdk = await makeClient(scenario.provider, context.url, {});
    workers.push(
      callLoop(sdk, context, async (send, signal) => {
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
    );
  }
  return {
    workers,
    note: shared
      ? 'one local Bottleneck per dimension shared by the in-process workers (no Redis); SDK retries'
      : 'Bottleneck clustered through Redis; SDK retries',
    async close() {
      // Either may return nothing (a clustered limiter whose connection is shared) or reject.
      const settle = (f: () => unknown) =>
        Promise.resolve()
          .then(f)
          .catch(() => {});
      await Promise.all(all.map((l) => settle(() => l.stop({ dropWaitingJobs: true }))));
      await Promise.all(all.map((l) => settle(() => l.disconnect(false))));
      // The connection's subscriber is a duplicate of our client: only the connection closes it.
      await Promise.all(clustered.map((c) => settle(() => c.disconnect(false))));
      await conns.closeAll();
    },
  };
}
