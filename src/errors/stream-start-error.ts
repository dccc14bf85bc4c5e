import { hasErrorCode, LlmResilienceError } from './llm-resilience-error.js';

/**
 * A streamed response failed before its first event, after its 200: the first event was the
 * provider's error event, or the body ended or broke before any event. Nothing reached the
 * caller, so the pipeline fails the attempt as a failed request: settled, retried when
 * retryable, counted by the breaker. `status` is the HTTP status the failure stands for (529 for
 * Anthropic's `overloaded_error`, 500 otherwise) and `error` the provider's error body, so that
 * `classifyError` reads it as it would read that status and body (overloaded, a rate limit, a
 * server error...).
 */
export class StreamStartError extends LlmResilienceError {
  readonly code = 'STREAM_START_FAILED';

  constructor(
    /** How the stream ended before its first event: `provider-error`, `broken` or `incomplete`. */
    readonly end: 'provider-error' | 'broken' | 'incomplete',
    /** The HTTP status the failure stands for. */
    readonly status: number,
    /** The provider's error event body (`provider-error` only). */
    readonly error?: unknown,
    options?: { cause?: unknown },
  ) {
    super(`The stream failed before its first event (${end})`, options);
  }
}

export const isStreamStartError = hasErrorCode<StreamStartError>('STREAM_START_FAILED');
