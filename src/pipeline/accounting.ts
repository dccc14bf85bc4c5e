/**
 * What a provider counts against its limits for one call, per dimension: at the start (the
 * reservation) and at the end (from the response's usage), and for an attempt that failed.
 * Pure: the pipeline turns these into budget costs.
 */
import type { Usage } from '../providers/usage.js';

export type ProviderName = 'anthropic' | 'openai';

/** Names of the per-minute dimensions a provider meters. */
export type DimensionName = 'rpm' | 'itpm' | 'otpm' | 'tpm';

/** What the pipeline knows of a request before sending it. */
export interface RequestShape {
  readonly model?: string;
  /** The request's `max_tokens` (or the provider's default where it has one). */
  readonly maxTokens: number;
  /** Input tokens, estimated from the body. */
  readonly inputEstimate: number;
}

/** A reservation's parts, kept to settle a failed attempt. */
export interface Reservation {
  readonly costs: readonly number[];
  readonly input: number;
  readonly output: number;
}

export interface Accounting {
  readonly provider: ProviderName;
  /** The dimensions, in the order of every cost array. */
  readonly dimensions: readonly DimensionName[];
  /** Costs charged when the call starts; `output` is what to reserve for output tokens. */
  reserve(request: RequestShape, output: number): Reservation;
  /** Costs the provider counted, from the usage it reported. */
  actual(usage: Usage): number[];
  /**
   * An attempt that failed: its request counts (providers count unsuccessful requests), and the
   * tokens it did not use come back. A call refused at the gate (429) used none.
   */
  failed(reservation: Reservation, refusedAtGate: boolean, producedOutput: number): number[];
}

/** Anthropic: RPM, ITPM (input + cache writes; reads only on † classes) and OTPM. */
export const anthropicAccounting: Accounting = {
  provider: 'anthropic',
  dimensions: ['rpm', 'itpm', 'otpm'],
  reserve: (request, output) => ({
    costs: [1, request.inputEstimate, output],
    input: request.inputEstimate,
    output,
  }),
  actual: (usage) => [1, usage.limitInputTokens, usage.outputTokens],
  failed: (r, gate, produced) => (gate ? [1, 0, 0] : [1, r.input, produced]),
};

/** OpenAI: RPM and TPM, which counts the prompt and `max_tokens` at the start. */
export const openaiAccounting: Accounting = {
  provider: 'openai',
  dimensions: ['rpm', 'tpm'],
  reserve: (request, output) => ({
    costs: [1, request.inputEstimate + output],
    input: request.inputEstimate,
    output,
  }),
  actual: (usage) => [1, usage.limitInputTokens + usage.outputTokens],
  failed: (r, gate, produced) => (gate ? [1, 0] : [1, r.input + produced]),
};
