/**
 * OpenTelemetry metrics for a provider pipeline, from its public events: the GenAI client
 * semantic-convention metrics and the resilience ones. Subscribes to the pipeline; changes nothing
 * in it. Attributes are low-cardinality by construction: provider, model (as requested), model
 * class, budget name, dimension, reasons and states from closed sets. Never a tenant id, an API
 * key, prompt text or an error message.
 */
import type { IDisposable } from 'cockatiel';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { checkKnownKeys, optionKeys } from '../options/check-options.js';
import type { SettleEvent } from '../pipeline/budgeted-fetch.js';
import type { ProviderPolicy } from '../pipeline/provider-policy.js';
import type {
  BatchObservableCallbackLike,
  MeterLike,
  MeterProviderLike,
  MetricAttributes,
} from './meter.js';

export interface InstrumentOptions {
  /** The meter to create the instruments on. One of `meter` and `meterProvider` is required. */
  meter?: MeterLike;
  /**
   * A meter provider (`metrics.getMeterProvider()` of `@opentelemetry/api`, or an SDK
   * `MeterProvider`): the instruments go on its meter `llm-resilience`.
   */
  meterProvider?: MeterProviderLike;
  /**
   * The budget's name, put on the resilience metrics as `llm_resilience.budget` (use the
   * pipeline's `key`; never a tenant id). @default absent
   */
  budget?: string;
  /**
   * Report the state gauges (circuit, bulkhead, budget available), read from `inspect()` at each
   * collection. @default true
   */
  gauges?: boolean;
}

/** What `instrument()` returns: `dispose()` unsubscribes and stops the gauges. */
export interface Instrumentation extends IDisposable {}

/** Meter name (the instrumentation scope). */
export const METER_NAME = 'llm-resilience';

/** GenAI semconv bucket boundaries for `gen_ai.client.operation.duration`, in seconds. */
const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** GenAI semconv bucket boundaries for `gen_ai.client.token.usage`. */
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** Limiter waits, in seconds: from a few ms to the default 30 s maximum wait. */
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Settle outcomes that are not errors. */
const OK_OUTCOMES = new Set(['ok', 'complete', 'no-usage']);
/** Stream ends and fetch failures that are errors (a closed set, so safe as `error.type`). */
const ERROR_OUTCOMES = new Set(['network-error', 'broken', 'provider-error', 'incomplete']);

const CIRCUIT_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;

/** Polly-like event names, for `llm_resilience.events`. */
const CIRCUIT_EVENTS: Record<string, string> = {
  closed: 'OnCircuitClosed',
  open: 'OnCircuitOpened',
  'half-open': 'OnCircuitHalfOpened',
  isolated: 'OnCircuitIsolated',
};

const OPTION_KEYS = optionKeys<InstrumentOptions>({
  meter: true,
  meterProvider: true,
  budget: true,
  gauges: true,
});

/**
 * Reports `policy`'s metrics on an OpenTelemetry meter:
 *
 *     const metrics = instrument(policy, { meterProvider, budget: 'prod' });
 *     // ...
 *     metrics.dispose();
 */
export function instrument(policy: ProviderPolicy, options: InstrumentOptions): Instrumentation {
  const where = 'instrument()';
  checkKnownKeys(options, OPTION_KEYS, where, { required: true });
  const meter = resolveMeter(options, where);
  if (options.budget !== undefined && (typeof options.budget !== 'string' || !options.budget)) {
    throw new InvalidConfigError('budget', 'a non-empty string', options.budget);
  }
  if (options.gauges !== undefined && typeof options.gauges !== 'boolean') {
    throw new InvalidConfigError('gauges', 'a boolean', options.gauges);
  }
  const base: MetricAttributes = options.budget ? { 'llm_resilience.budget': options.budget } : {};

  const operationDuration = meter.createHistogram('gen_ai.client.operation.duration', {
    unit: 's',
    description: 'GenAI operation duration',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const tokenUsage = meter.createHistogram('gen_ai.client.token.usage', {
    unit: '{token}',
    description: 'Number of input and output tokens used',
    advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  });
  const limiterWait = meter.createHistogram('llm_resilience.limiter.wait.duration', {
    unit: 's',
    description: 'Time a request waited for budget before it was sent',
    advice: { explicitBucketBoundaries: WAIT_BUCKETS },
  });
  const throttled = meter.createCounter('llm_resilience.limiter.throttled', {
    unit: '{request}',
    description: 'Requests that waited for budget',
  });
  const held = meter.createCounter('llm_resilience.limiter.held', {
    unit: '{hold}',
    description: 'Budget dimensions held after a 429, for every worker sharing the budget',
  });
  const retries = meter.createCounter('llm_resilience.retry.attempts', {
    unit: '{retry}',
    description: 'Retries, by the kind of error that caused them',
  });
  const giveUps = meter.createCounter('llm_resilience.retry.give_ups', {
    unit: '{call}',
    description: 'Calls whose retries ended with an error, by reason',
  });
  const providerErrors = meter.createCounter('llm_resilience.provider.errors', {
    unit: '{response}',
    description: 'Provider responses that failed: 429s, 5xx, other statuses, broken streams',
  });
  const reserved = meter.createCounter('llm_resilience.budget.reserved', {
    unit: '{unit}',
    description: 'Budget units reserved at the start of each request, per dimension',
  });
  const settled = meter.createCounter('llm_resilience.budget.settled', {
    unit: '{unit}',
    description: 'Budget units the provider counted, per dimension',
  });
  const limitChanges = meter.createCounter('llm_resilience.budget.limit_changes', {
    unit: '{change}',
    description: 'Budget limits lowered or restored from provider feedback, by reason',
  });
  const events = meter.createCounter('llm_resilience.events', {
    unit: '{event}',
    description: 'Resilience events, by Polly-like event.name',
  });

  const event = (name: string, severity: string, extra: MetricAttributes = {}) =>
    events.add(1, { ...base, 'event.name': name, 'event.severity': severity, ...extra });

  const onSettle = (e: SettleEvent) => {
    const genai: MetricAttributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': e.provider,
      ...(e.model !== undefined ? { 'gen_ai.request.model': e.model } : {}),
    };
    const errorType = errorTypeOf(e);
    operationDuration.record(e.durationMs / 1000, {
      ...genai,
      ...(errorType !== undefined ? { 'error.type': errorType } : {}),
    });
    if (e.usage) {
      // Input counts every prompt token, cached ones included (the convention's reading).
      tokenUsage.record(e.usage.totalInputTokens, { ...genai, 'gen_ai.token.type': 'input' });
      tokenUsage.record(e.usage.outputTokens, { ...genai, 'gen_ai.token.type': 'output' });
    }
    const resilience: MetricAttributes = {
      ...base,
      'gen_ai.provider.name': e.provider,
      'llm_resilience.model_class': e.modelClass,
    };
    limiterWait.record(e.waitedMs / 1000, resilience);
    if (errorType !== undefined && errorType !== 'cancelled') {
      providerErrors.add(1, {
        ...resilience,
        'error.type': errorType,
        ...(e.status !== undefined ? { 'http.response.status_code': e.status } : {}),
      });
    }
    e.dimensions.forEach((dimension, i) => {
      const at = { ...resilience, 'llm_resilience.dimension': dimension };
      reserved.add(e.reserved[i] ?? 0, at);
      settled.add(e.actual[i] ?? 0, at);
    });
  };

  const subscriptions: IDisposable[] = [
    policy.onSettle(onSettle),
    policy.onThrottle((e) => {
      throttled.add(1, { ...base, 'llm_resilience.model_class': e.modelClass });
      event('OnThrottle', 'Information');
    }),
    policy.onHold((e) => {
      held.add(1, {
        ...base,
        'llm_resilience.model_class': e.modelClass,
        'llm_resilience.dimension': e.dimension,
      });
      event('OnHold', 'Warning');
    }),
    policy.onRetry((e) => {
      retries.add(1, { ...base, 'llm_resilience.retry.reason': e.reason });
      event('OnRetry', 'Warning');
    }),
    policy.onGiveUp((e) => {
      giveUps.add(1, {
        ...base,
        'llm_resilience.retry.give_up_reason': e.reason,
        'llm_resilience.retry.reason': e.kind,
      });
      event('OnGiveUp', 'Error');
    }),
    policy.onStateChange((snapshot) => {
      const name = CIRCUIT_EVENTS[snapshot.state];
      if (name) event(name, snapshot.state === 'closed' ? 'Information' : 'Error');
    }),
    policy.onUnseen(() => event('OnUnseen', 'Warning')),
    policy.onLimitChange((e) => {
      limitChanges.add(1, {
        ...base,
        'llm_resilience.model_class': e.modelClass,
        'llm_resilience.dimension': e.dimension,
        'llm_resilience.limit_change.reason': e.reason,
      });
      event('OnLimitChange', 'Warning');
    }),
  ];

  let batch: { callback: BatchObservableCallbackLike; observables: never[] } | undefined;
  if (options.gauges !== false) {
    const circuitState = meter.createObservableGauge('llm_resilience.circuit.state', {
      unit: '1',
      description: '1 for the state the circuit is in, 0 for the others',
    });
    const executing = meter.createObservableGauge('llm_resilience.bulkhead.executing', {
      unit: '{request}',
      description: 'Requests holding a bulkhead slot',
    });
    const queued = meter.createObservableGauge('llm_resilience.bulkhead.queued', {
      unit: '{request}',
      description: 'Requests waiting for a bulkhead slot',
    });
    const available = meter.createObservableGauge('llm_resilience.budget.available', {
      unit: '{unit}',
      description: 'Budget units available now, per model class and dimension',
    });
    const limitGauge = meter.createObservableGauge('llm_resilience.budget.limit', {
      unit: '{unit}',
      description: 'Budget limit in force per period, per model class and dimension',
    });
    const callback: BatchObservableCallbackLike = async (result) => {
      // A store that cannot answer (Redis down) reports nothing this round rather than failing
      // the whole collection.
      const snapshot = await policy.inspect().catch(() => undefined);
      if (!snapshot) return;
      for (const state of CIRCUIT_STATES) {
        result.observe(circuitState, snapshot.circuit.state === state ? 1 : 0, {
          ...base,
          'llm_resilience.circuit.state': state,
        });
      }
      if (snapshot.bulkhead) {
        result.observe(executing, snapshot.bulkhead.executing, base);
        result.observe(queued, snapshot.bulkhead.queued, base);
      }
      const seen = new Set<string>();
      for (const limit of snapshot.limits) {
        // A tenant's dimensions follow the global ones under the same names: only the global
        // budget is reported (a tenant is never an attribute).
        const id = `${limit.modelClass}\u0000${limit.name}`;
        if (!isDimensionName(limit.name) || seen.has(id)) continue;
        seen.add(id);
        const at = {
          ...base,
          'llm_resilience.model_class': limit.modelClass,
          'llm_resilience.dimension': limit.name,
        };
        result.observe(available, limit.available, at);
        result.observe(limitGauge, limit.limit, at);
      }
    };
    const observables = [circuitState, executing, queued, available, limitGauge] as never[];
    meter.addBatchObservableCallback(callback, observables);
    batch = { callback, observables };
  }

  let disposed = false;
  return {
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const s of subscriptions) s.dispose();
      if (batch) meter.removeBatchObservableCallback(batch.callback, batch.observables);
    },
  };
}

function resolveMeter(options: InstrumentOptions, where: string): MeterLike {
  const { meter, meterProvider } = options;
  if (meter !== undefined && meterProvider !== undefined) {
    throw new InvalidConfigError(
      'meter',
      `either \`meter\` or \`meterProvider\` for ${where}, not both`,
      meter,
    );
  }
  if (meter !== undefined) {
    if (typeof meter !== 'object' || meter === null || typeof meter.createHistogram !== 'function')
      throw new InvalidConfigError('meter', 'an OpenTelemetry Meter', meter);
    return meter;
  }
  if (
    typeof meterProvider !== 'object' ||
    meterProvider === null ||
    typeof meterProvider.getMeter !== 'function'
  ) {
    throw new InvalidConfigError(
      'meterProvider',
      `an OpenTelemetry MeterProvider (or pass \`meter\`) for ${where}`,
      meterProvider,
    );
  }
  return meterProvider.getMeter(METER_NAME);
}

/** `error.type` of an attempt: its HTTP status, or how it broke; absent when it succeeded. */
function errorTypeOf(e: SettleEvent): string | undefined {
  if (OK_OUTCOMES.has(e.outcome)) return undefined;
  if (/^\d{3}$/.test(e.outcome)) return e.outcome;
  if (ERROR_OUTCOMES.has(e.outcome) || e.outcome === 'cancelled') return e.outcome;
  return '_OTHER';
}

function isDimensionName(name: string): boolean {
  return name === 'rpm' || name === 'itpm' || name === 'otpm' || name === 'tpm';
}
