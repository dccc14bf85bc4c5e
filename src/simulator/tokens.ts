/**
 * The simulator's token counting rule, deterministic and documented: a piece of text counts
 * `ceil(length / 4)` tokens (length in UTF-16 code units), and a request counts the sum over its
 * pieces. Non-text pieces (images, tool calls, tool definitions) count as their JSON text.
 * Pure: no I/O.
 */

/** Tokens of one piece of text: `ceil(text.length / 4)`. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** One counted piece of a prompt, in the provider's cache order. */
export interface PromptPiece {
  /** The text counted and hashed (for caching). */
  readonly text: string;
  readonly tokens: number;
  /** Anthropic: this piece carries `cache_control`, so the prefix ending here is cacheable. */
  readonly breakpoint: boolean;
}

function piece(value: unknown): PromptPiece {
  let breakpoint = false;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (isRecord(value)) {
    const { cache_control: cacheControl, ...rest } = value;
    breakpoint = cacheControl !== undefined && cacheControl !== null;
    text = rest.type === 'text' && typeof rest.text === 'string' ? rest.text : JSON.stringify(rest);
  } else text = JSON.stringify(value) ?? '';
  return { text, tokens: countTokens(text), breakpoint };
}

/** Pieces of a content field: a string or an array of blocks. */
function contentPieces(content: unknown): PromptPiece[] {
  if (Array.isArray(content)) return content.map(piece);
  if (content === undefined || content === null) return [];
  return [piece(content)];
}

/**
 * Anthropic Messages prompt pieces in cache-prefix order: tools, then system, then each
 * message's content blocks.
 */
export function anthropicPromptPieces(body: {
  readonly tools?: unknown;
  readonly system?: unknown;
  readonly messages: readonly unknown[];
}): PromptPiece[] {
  const pieces: PromptPiece[] = [];
  if (Array.isArray(body.tools)) pieces.push(...body.tools.map(piece));
  pieces.push(...contentPieces(body.system));
  for (const message of body.messages) {
    if (isRecord(message)) pieces.push(...contentPieces(message.content));
  }
  return pieces;
}

/** OpenAI Chat Completions prompt tokens: each message's content parts, tool calls and tools. */
export function openaiPromptTokens(body: {
  readonly tools?: unknown;
  readonly messages: readonly unknown[];
}): number {
  let tokens = 0;
  if (Array.isArray(body.tools)) for (const tool of body.tools) tokens += piece(tool).tokens;
  for (const message of body.messages) {
    if (!isRecord(message)) continue;
    for (const part of contentPieces(message.content)) tokens += part.tokens;
    if (Array.isArray(message.tool_calls))
      for (const call of message.tool_calls) tokens += piece(call).tokens;
  }
  return tokens;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
