/**
 * Reads a provider's SSE response body up to its first event, so that a stream failing before it
 * (the provider's error event first, a body ending or breaking before any event) can be told
 * apart from one that began, without losing or repeating a byte of the one that began.
 */
import { SseDecoder } from './sse-decoder.js';
import { StreamUsageTracker } from './stream-usage.js';
import type { Provider } from './usage.js';

/** How a stream began: its body, the first event included, or how it failed before any event. */
export type FirstEvent =
  | { readonly end?: undefined; readonly body: ReadableStream<Uint8Array> }
  | {
      readonly end: 'provider-error' | 'broken' | 'incomplete';
      readonly providerError?: unknown;
      readonly error?: unknown;
    };

/**
 * Reads `body` up to its first complete SSE event (a block with data: comments and blank blocks
 * fire none). The bytes read are replayed in front of the rest, so the caller's stream loses and
 * repeats nothing.
 */
export async function firstEvent(
  provider: Provider,
  body: ReadableStream<Uint8Array>,
): Promise<FirstEvent> {
  const reader = body.getReader();
  const decoder = new SseDecoder();
  const read: Uint8Array[] = [];
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (error) {
      return { end: 'broken', error };
    }
    if (chunk.done) return { end: 'incomplete' };
    read.push(chunk.value);
    const event = decoder.push(chunk.value).find((block) => block.data !== undefined);
    if (!event) continue;
    const tracker = new StreamUsageTracker(provider);
    tracker.onBlock(event);
    const { providerError } = tracker.state();
    if (providerError !== undefined) {
      reader.cancel().catch(() => undefined);
      return { end: 'provider-error', providerError };
    }
    return {
      body: new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = read.shift();
          if (next) return controller.enqueue(next);
          const rest = await reader.read();
          if (rest.done) controller.close();
          else controller.enqueue(rest.value);
        },
        cancel: (reason) => reader.cancel(reason),
      }),
    };
  }
}
