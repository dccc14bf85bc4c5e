/** Server-sent events as the providers write them, for tests that read streams byte by byte. */

/** An Anthropic event: its name and its JSON data. */
export const sse = (event: string, data: unknown): string =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** An OpenAI chunk: a data line only (a string as it is, `[DONE]` for one). */
export const chunk = (data: unknown): string =>
  `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
