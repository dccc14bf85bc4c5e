import { hasErrorCode, LlmResilienceError } from './llm-resilience-error.js';

/**
 * A streamed response ended badly after its first event (the provider's error event, a broken
 * connection, a body cut short). The caller's SDK reports it in its own way; the pipeline gives
 * this error to its circuit breaker, with the status the provider's error stands for (529 for
 * Anthropic's `overloaded_error`, 500 otherwise), so a provider failing mid-stream opens the
 * circuit as one failing before it would.
 */
export class StreamInterruptedError extends LlmResilienceError {
  readonly code = 'STREAM_INTERRUPTED';

  constructor(
    /** How the stream ended: `provider-error`, `broken` or `incomplete`. */
    readonly end: string,
    /** The HTTP status the failure stands for. */
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(`The stream ended mid-way (${end})`, options);
  }
}

export const isStreamInterruptedError = hasErrorCode<StreamInterruptedError>('STREAM_INTERRUPTED');
