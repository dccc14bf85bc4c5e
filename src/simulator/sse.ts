/** Server-sent event frames. Pure. */

/** A frame with an event name, as Anthropic sends them. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A data-only frame, as OpenAI sends them (`data` may be the literal `[DONE]`). */
export function sseData(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
