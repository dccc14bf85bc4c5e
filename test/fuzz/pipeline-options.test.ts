/**
 * Random options for the provider pipelines and the simulator, random tenant ids and model names:
 * a pipeline is built or refused typed, its snapshot is JSON-safe, two different tenants never
 * share a budget key, and a call with any model name through the real SDKs against the simulator
 * settles (a result or a typed/provider error), never an untyped or unhandled error.
 */
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelClasses, presetRows, type TierPreset } from '../../policies/index.js';
import {
  anthropicPolicy,
  encodeKeyName,
  isLlmResilienceError,
  MemoryBudgetStore,
  openaiPolicy,
  wrap,
} from '../../src/index.js';
import { FAULT_KINDS, type Simulator, startSimulator } from '../../src/simulator/index.js';
import {
  fuzzFactory,
  junk,
  optionTrees,
  RUNS,
  show,
  trapUnhandledRejections,
} from './fuzz-support.js';

type Provider = 'anthropic' | 'openai';
const factory = { anthropic: anthropicPolicy, openai: openaiPolicy } as const;

const tierOf = (p: Provider) =>
  fc.constantFrom(...new Set(presetRows.filter((r) => r.provider === p).map((r) => r.tier)));
const knownModel = (p: Provider) =>
  fc.constantFrom(...modelClasses.filter((c) => c.provider === p).flatMap((c) => [...c.examples]));
/** Known model names, near misses and anything at all. */
const modelName = (p: Provider) =>
  fc.oneof(
    knownModel(p),
    knownModel(p).map((m) => `${m.toUpperCase()} `),
    knownModel(p).map((m) => `${m}-20990101`),
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: fc.constantFrom('\ud800', '\udc00', 'claude', 'gpt-4o', '-'), maxLength: 4 }),
  );
/** Tenant ids: plain, with the separators keys are made of, unicode, empty. */
const tenantId = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.constantFrom('', ':', 'a:b', 'tenant', 'tenant:x', '%3A', '{x}', 'a/b', 'A', 'a', ' a'),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: fc.constantFrom(':', '%', 'a', '3', 'A', '{', '}'), maxLength: 8 }),
  // lone surrogates: not valid UTF-16 text, refused typed
  fc.string({ unit: fc.constantFrom('\ud800', '\udc00', '\ud83d\ude00', 'a', ':'), maxLength: 4 }),
);
/** Whether a pipeline can be built on this preset row (see the known defect below). */
function buildsOn(row: TierPreset): boolean {
  try {
    factory[row.provider as Provider]({
      preset: row as never,
      store: new MemoryBudgetStore(),
    }).dispose();
    return true;
  } catch {
    return false;
  }
}

/** A tier and a model name with a row in it. */
const tierAndModel = (p: Provider) =>
  fc.constantFrom(
    ...presetRows
      .filter((r) => r.provider === p && buildsOn(r))
      .flatMap((r) =>
        (
          modelClasses.find((c) => c.provider === p && c.modelClass === r.modelClass)?.examples ??
          []
        ).map((m) => [r.tier, m] as const),
      ),
  );
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const nonEmptyTenant = tenantId.filter((t) => t.length > 0 && !LONE.test(t));
const limitsFor = (p: Provider) =>
  p === 'anthropic'
    ? fc.record({
        rpm: fc.integer({ min: 1, max: 10_000 }),
        itpm: fc.integer({ min: 1, max: 10_000_000 }),
        otpm: fc.integer({ min: 1, max: 1_000_000 }),
      })
    : fc.record({
        rpm: fc.integer({ min: 1, max: 10_000 }),
        tpm: fc.integer({ min: 1, max: 10_000_000 }),
      });

function pipelineOptions(p: Provider) {
  return optionTrees((options) =>
    options({
      tier: tierOf(p),
      model: modelName(p),
      limits: fc.oneof(
        limitsFor(p),
        options({ rpm: fc.integer(), itpm: fc.integer(), tpm: fc.integer() }),
      ),
      periodMs: fc.integer({ min: 1, max: 120_000 }),
      utilization: fc.double({ min: 0, max: 1, noNaN: true }),
      outputTokens: fc.constantFrom('max_tokens', 'generated'),
      key: fc.string({ maxLength: 12 }),
      tenant: tenantId,
      tenantShare: fc.double({ min: 0, max: 1, noNaN: true }),
      retry: fc.oneof(fc.constant(false), options({ maxRetries: fc.integer({ min: 0, max: 3 }) })),
      circuit: fc.oneof(
        fc.constant(false),
        options({ consecutiveFailures: fc.integer({ min: 1, max: 9 }), halfOpenAfterMs: fc.nat() }),
      ),
      bulkhead: fc.oneof(
        fc.constant(false),
        options({ maxConcurrent: fc.integer({ min: 1, max: 9 }), maxQueue: fc.nat(9) }),
      ),
      timeout: fc.oneof(
        fc.constant(false),
        fc.integer({ min: 1, max: 60_000 }),
        options({ attemptMs: fc.nat(60_000), totalMs: fc.nat(60_000) }),
      ),
      fallback: fc.oneof(fc.constant(false), options({ to: fc.constant(() => 'backup') })),
      maxWaitMs: fc.nat(60_000),
      arrivalLagMs: fc.nat(1000),
      // absent when clean; junk in its place must be refused typed, not taken for a client
      redis: fc.constant(undefined),
    }),
  );
}

const outcomes: Record<string, number> = {};
const count = (name: string) => {
  outcomes[name] = (outcomes[name] ?? 0) + 1;
};
trapUnhandledRejections();
afterAll(() => {
  console.info('fuzzed pipelines:', JSON.stringify(outcomes));
});

describe('fuzz: pipeline options', () => {
  it.each(['anthropic', 'openai'] as const)(
    '%sPolicy(): built or refused typed; inspect() is JSON-safe',
    (p) =>
      fuzzFactory({
        input: pipelineOptions(p),
        make: (opts) => factory[p]({ ...opts, store: new MemoryBudgetStore() } as never),
        use: async (policy) => {
          const snap = await policy.inspect();
          expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
          for (const d of snap.limits) {
            expect(Number.isFinite(d.retryAfterMs) && d.retryAfterMs >= 0).toBe(true);
            expect(Number.isFinite(d.available)).toBe(true);
          }
          policy.dispose();
        },
        runs: RUNS.medium,
        tally: (outcome) => count(`${p}:${outcome}`),
      }),
  );
});

describe('shipped presets', () => {
  // Found by this fuzzing: the OpenAI rows with tpm >= 40M (tier-5, grow) were refused, their
  // burst x period (µs) past exact arithmetic; budgets now count those in tens of tokens.
  it('every OpenAI and Anthropic preset row builds a pipeline', () => {
    const refused = presetRows.filter((r) => r.provider !== 'gemini' && !buildsOn(r));
    expect(refused.map((r) => `${r.provider} ${r.tier} ${r.modelClass}`)).toEqual([]);
  });
});

describe('fuzz: tenant ids never collide', () => {
  it.each(['anthropic', 'openai'] as const)(
    '%s: two different (key, tenant) pairs share only the global budget of one key',
    async (p) => {
      await fc.assert(
        fc.asyncProperty(
          nonEmptyTenant,
          nonEmptyTenant,
          nonEmptyTenant,
          nonEmptyTenant,
          fc.option(tierAndModel(p), { nil: undefined }),
          limitsFor(p),
          async (keyA, keyB, tenantA, tenantB, model, limits) => {
            fc.pre(keyA !== keyB || tenantA !== tenantB);
            const store = new MemoryBudgetStore();
            const make = (key: string, tenant?: string) =>
              factory[p]({
                ...(model === undefined ? { limits } : { tier: model[0], model: model[1] }),
                key,
                store,
                ...(tenant === undefined ? {} : { tenant }),
              });
            const keysOf = async (policy: ReturnType<typeof make>) => {
              const keys = (await policy.inspect()).limits.map((d) => d.key);
              policy.dispose();
              return keys;
            };
            const [a, b, globalA, globalB] = await Promise.all([
              keysOf(make(keyA, tenantA)),
              keysOf(make(keyB, tenantB)),
              keysOf(make(keyA)),
              keysOf(make(keyB)),
            ]);
            const input = show({ keyA, keyB, tenantA, tenantB, a, b });
            // each pipeline charges its global budget and a tenant budget of its own
            expect(a.length, input).toBe(globalA.length * 2);
            expect(new Set(a).size, input).toBe(a.length);
            for (const k of globalA) expect(a, input).toContain(k);
            const shared = a.filter((k) => b.includes(k));
            for (const k of shared) {
              // only a global key, and only when the budget name is the same
              expect(globalA.includes(k) && globalB.includes(k), `${k} in ${input}`).toBe(true);
            }
            if (keyA !== keyB) expect(shared, input).toEqual([]);
            else expect(shared.sort(), input).toEqual([...globalA].sort());
            // and the Redis keys they become (RedisBudgetStore: `{prefix}:q:<encoded name>`)
            const redisA = a.map(encodeKeyName);
            const redisB = new Set(b.map(encodeKeyName));
            expect(redisA.filter((k) => redisB.has(k)).sort(), input).toEqual(
              shared.map(encodeKeyName).sort(),
            );
            expect(new Set(redisA).size, input).toBe(a.length);
            count(`${p}:tenant-pairs`);
          },
        ),
        { numRuns: RUNS.medium },
      );
    },
  );
});

function tierFor(p: Provider): string {
  return p === 'anthropic' ? 'build' : 'tier-1';
}

describe('fuzz: calls with random tenants and model names through the SDKs', () => {
  const sims: Partial<Record<Provider, Simulator>> = {};
  beforeAll(async () => {
    sims.anthropic = await startSimulator({ provider: 'anthropic' });
    sims.openai = await startSimulator({ provider: 'openai' });
  });
  afterAll(async () => {
    await Promise.all(Object.values(sims).map((s) => s?.close()));
  });

  /** A provider's answer to a bad request is an SDK APIError with its status; ours are typed. */
  const acceptable = (error: unknown) =>
    isLlmResilienceError(error) ||
    error instanceof Anthropic.APIError ||
    error instanceof OpenAI.APIError;

  it.each(['anthropic', 'openai'] as const)(
    "%s: every call settles with a result, a typed error or the provider's answer",
    async (p) => {
      const sim = sims[p] as Simulator;
      await fc.assert(
        fc.asyncProperty(
          nonEmptyTenant,
          modelName(p),
          fc.boolean(),
          async (tenant, model, byTier) => {
            const policy = factory[p]({
              ...(byTier
                ? {
                    tier: tierFor(p),
                    model: tierFor(p) === 'build' ? 'claude-sonnet-4-5' : 'gpt-4o',
                  }
                : {
                    limits:
                      p === 'anthropic'
                        ? { rpm: 10_000, itpm: 1e7, otpm: 1e6 }
                        : { rpm: 10_000, tpm: 1e7 },
                  }),
              key: 'fuzz',
              tenant,
              store: new MemoryBudgetStore(),
              retry: false,
              maxWaitMs: 1000,
            });
            const call: () => Promise<unknown> =
              p === 'anthropic'
                ? () =>
                    new Anthropic({
                      baseURL: sim.url,
                      apiKey: 'k',
                      maxRetries: 0,
                      fetch: policy.fetch,
                    }).messages.create({
                      model,
                      max_tokens: 8,
                      messages: [{ role: 'user', content: `hi ${tenant}` }],
                    })
                : () =>
                    new OpenAI({
                      baseURL: `${sim.url}/v1`,
                      apiKey: 'k',
                      maxRetries: 0,
                      fetch: policy.fetch,
                    }).chat.completions.create({
                      model,
                      max_tokens: 8,
                      messages: [{ role: 'user', content: `hi ${tenant}` }],
                    });
            try {
              await wrap(policy).execute(call);
              count(`${p}:call-ok`);
            } catch (error) {
              if (!acceptable(error)) {
                throw new Error(`untyped ${String(error)} for ${show({ tenant, model, byTier })}`, {
                  cause: error,
                });
              }
              count(`${p}:call-refused:${(error as Error).constructor.name}`);
            } finally {
              policy.dispose();
            }
          },
        ),
        { numRuns: RUNS.slow },
      );
    },
  );
});

describe('fuzz: startSimulator options', () => {
  it('starts and closes, or refuses typed', async () => {
    const portJunk = junk.filter(
      (v) => !(typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65_535),
    );
    await fc.assert(
      fc.asyncProperty(
        optionTrees((options) =>
          options({
            provider: fc.constantFrom('anthropic', 'openai'),
            // provider-neutral limits; the per-provider ones are refused across providers
            limits: options({
              rpm: fc.integer({ min: 1, max: 1000 }),
              concurrent: fc.integer({ min: 1, max: 10 }),
            }),
            perSecond: fc.oneof(fc.boolean(), fc.subarray(['rpm', 'itpm', 'otpm', 'tpm'])),
            latencyMs: fc.oneof(
              fc.nat(5),
              options({
                firstTokenMs: fc.nat(5),
                perTokenMs: fc.nat(2),
                jitter: fc.double({ min: 0, max: 1, noNaN: true }),
              }),
            ),
            faults: options({
              rates: fc.dictionary(
                fc.constantFrom(...FAULT_KINDS),
                fc.double({ min: 0, max: 0.2, noNaN: true }),
                { maxKeys: 4 },
              ),
              script: fc.array(
                fc.record({ kind: fc.constantFrom('ok', 'rate_limit', 'overloaded') }),
                { maxLength: 3 },
              ),
              slowFirstByteMs: fc.nat(10),
            }),
            outputTokens: fc.oneof(fc.nat(100), options({ min: fc.nat(10), max: fc.nat(100) })),
            defaultMaxTokens: fc.nat(4096),
            promptCache: options({ minTokens: fc.nat(4096), ttlMs: fc.nat(600_000) }),
            maxBodyBytes: fc.nat(1e8),
            apiKey: fc.string({ maxLength: 10 }),
            port: fc.oneof(fc.constant(0), portJunk),
            host: fc.constantFrom('127.0.0.1', '::1', 'localhost'),
            seed: fc.integer(),
          }),
        ),
        async (opts) => {
          let sim: Simulator | undefined;
          try {
            sim = await startSimulator({ provider: 'anthropic', ...opts } as never);
            count('simulator:started');
          } catch (error) {
            // A host or port the system refuses is its answer (a Node system error with a code).
            const systemError =
              error instanceof Error &&
              typeof (error as { syscall?: unknown }).syscall === 'string';
            if (!isLlmResilienceError(error) && !systemError) {
              throw new Error(`untyped ${String(error)} for ${show(opts)}`, { cause: error });
            }
            count('simulator:refused');
            if (process.env.FUZZ_DEBUG) console.log((error as Error).message);
          } finally {
            await sim?.close();
          }
        },
      ),
      { numRuns: RUNS.fast },
    );
  });
});
