import { hasErrorCode, LlmResilienceError } from './llm-resilience-error.js';

/**
 * The provider refused a call for billing or quota (Anthropic's spend cap, OpenAI's
 * `insufficient_quota`, a per-day quota): waiting seconds will not help, so the pipeline stops
 * sending on that budget until `resumeAt` and refuses calls at once with this error instead of
 * paying one refused request per call. Not retried; not a provider failure for the breaker.
 */
export class QuotaExhaustedError extends LlmResilienceError {
  readonly code = 'QUOTA_EXHAUSTED';

  constructor(
    /** The budget's model class. */
    readonly modelClass: string,
    /** Epoch ms from which calls are sent again. */
    readonly resumeAt: number,
    options?: { cause?: unknown },
  ) {
    super(
      `The provider's quota for ${modelClass} is exhausted; calls resume at ${new Date(resumeAt).toISOString()}`,
      options,
    );
  }
}

export const isQuotaExhaustedError = hasErrorCode<QuotaExhaustedError>('QUOTA_EXHAUSTED');
