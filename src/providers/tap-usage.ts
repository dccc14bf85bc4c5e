/**
 * A pass-through tap on a provider's SSE response body: the SDK reads the same bytes, while the
 * tap follows the events and reports, exactly once, what the stream produced: on completion, on
 * the provider's error event, on a broken connection, or when the consumer cancels.
 */
import { StreamInterruptedError } from '../errors/stream-interrupted-error.js';
import { SseDecoder } from './sse-decoder.js';
import {
  type StreamUsageOptions,
  type StreamUsageState,
  StreamUsageTracker,
} from './stream-usage.js';
import type { Provider } from './usage.js';

/**
 * How the stream ended.
 * - `complete`: the end marker arrived (Anthropic `message_stop`, OpenAI `[DONE]`).
 * - `provider-error`: the provider sent an error event after the 200.
 * - `incomplete`: the body ended cleanly without the end marker.
 * - `broken`: reading the body failed (connection reset, timeout).
 * - `cancelled`: the consumer cancelled the body or `signal` aborted (the SDKs abort the request
 *   when the caller stops iterating).
 */
export type StreamEnd = 'complete' | 'provider-error' | 'incomplete' | 'broken' | 'cancelled';

export interface StreamOutcome extends StreamUsageState {
  readonly end: StreamEnd;
  /** The provider's error body, the read error, or the cancel reason; absent when complete. */
  readonly error?: unknown;
}

export interface TapUsageOptions extends StreamUsageOptions {
  /** The request's signal: its abort ends the tap as `cancelled` (unless already complete). */
  readonly signal?: AbortSignal;
  /**
   * OpenAI: do not forward the usage-only chunk (`choices: []`), for a caller that did not ask
   * for `stream_options.include_usage` and may not expect it. The tap then forwards whole events
   * rather than the chunks as received (same bytes, other boundaries). @default false
   */
  readonly hideUsageChunk?: boolean;
}

/** Is this block OpenAI's usage-only chunk? */
function isUsageOnlyChunk(data: string | undefined): boolean {
  if (data === undefined || !data.includes('"usage"')) return false;
  try {
    const json = JSON.parse(data) as { choices?: unknown; usage?: unknown };
    return (
      Array.isArray(json.choices) &&
      json.choices.length === 0 &&
      typeof json.usage === 'object' &&
      json.usage !== null
    );
  } catch {
    return false;
  }
}

/**
 * Wraps `body` so that reading it also follows its events; `onEnd` is called exactly once with
 * the outcome. A throwing `onEnd` is ignored: it never breaks the caller's stream.
 */
export function tapUsage(
  provider: Provider,
  body: ReadableStream<Uint8Array>,
  onEnd: (outcome: StreamOutcome) => void,
  options: TapUsageOptions = {},
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new SseDecoder();
  const tracker = new StreamUsageTracker(provider, options);
  const hide = options.hideUsageChunk === true && provider === 'openai';
  const encoder = new TextEncoder();
  const { signal } = options;
  let ended = false;

  const finish = (end: StreamEnd, error?: unknown) => {
    if (ended) return;
    ended = true;
    signal?.removeEventListener('abort', onAbort);
    const state = tracker.state();
    // The end marker wins over whatever happened to the connection afterwards.
    let outcome: StreamOutcome;
    if (state.complete) outcome = { ...state, end: 'complete' };
    else if (state.providerError !== undefined)
      outcome = { ...state, end: 'provider-error', error: state.providerError };
    else outcome = error === undefined ? { ...state, end } : { ...state, end, error };
    try {
      onEnd(outcome);
    } catch {
      // A listener's bug must not break the stream the caller reads.
    }
  };
  const onAbort = () => finish('cancelled', signal?.reason);
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener('abort', onAbort, { once: true });

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // Loop until something is forwarded: a pull that enqueues nothing would stall the reader.
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            if (hide) {
              const tail = decoder.end();
              if (tail.length > 0) controller.enqueue(encoder.encode(tail));
            }
            controller.close();
            finish('incomplete');
            return;
          }
          const blocks = decoder.push(value);
          for (const block of blocks) tracker.onBlock(block);
          if (!hide) {
            controller.enqueue(value);
            return;
          }
          let out = '';
          for (const block of blocks) if (!isUsageOnlyChunk(block.data)) out += block.raw;
          if (out.length > 0) {
            controller.enqueue(encoder.encode(out));
            return;
          }
        }
      } catch (error) {
        finish(signal?.aborted ? 'cancelled' : 'broken', signal?.aborted ? signal.reason : error);
        // A body cut mid-way (undici's `TypeError: terminated`, whatever its socket code) reaches
        // the caller's iteration as a typed error; an abort stays the caller's own reason.
        controller.error(
          signal?.aborted ? error : new StreamInterruptedError('broken', 500, { cause: error }),
        );
      }
    },
    cancel(reason) {
      finish('cancelled', reason);
      return reader.cancel(reason);
    },
  });
}
