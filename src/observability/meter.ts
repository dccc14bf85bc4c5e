/**
 * The part of OpenTelemetry's metrics API the instrumentation uses, written as structural types
 * so the package needs no `@opentelemetry/api` at run time or in its declarations: a `Meter` and
 * a `MeterProvider` from `@opentelemetry/api` (an optional peer) fit these types as they are.
 */

/** Attribute values of one measurement: low-cardinality strings and numbers only. */
export type MetricAttributes = Record<string, string | number | boolean>;

export interface MetricOptionsLike {
  readonly description?: string;
  readonly unit?: string;
  readonly advice?: { readonly explicitBucketBoundaries?: number[] };
}

export interface HistogramLike {
  record(value: number, attributes?: MetricAttributes): void;
}

export interface CounterLike {
  add(value: number, attributes?: MetricAttributes): void;
}

/** An observable instrument; its values are reported through a batch callback. */
export interface ObservableLike {
  addCallback(
    callback: (result: { observe(value: number, attributes?: MetricAttributes): void }) => void,
  ): void;
}

export interface BatchObservableResultLike {
  observe(metric: ObservableLike, value: number, attributes?: MetricAttributes): void;
}

export type BatchObservableCallbackLike = (
  result: BatchObservableResultLike,
) => void | Promise<void>;

export interface MeterLike {
  createHistogram(name: string, options?: MetricOptionsLike): HistogramLike;
  createCounter(name: string, options?: MetricOptionsLike): CounterLike;
  createObservableGauge(name: string, options?: MetricOptionsLike): ObservableLike;
  addBatchObservableCallback(
    callback: BatchObservableCallbackLike,
    observables: ObservableLike[],
  ): void;
  removeBatchObservableCallback(
    callback: BatchObservableCallbackLike,
    observables: ObservableLike[],
  ): void;
}

export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike;
}
