/**
 * Token usage as the providers report it, in one shape, with the figures their rate limits count.
 * Pure: no I/O, no clock.
 */

export type Provider = 'anthropic' | 'openai';

/**
 * One response's usage. The four token fields are disjoint: every prompt token is in exactly one
 * of `inputTokens`, `cacheCreationInputTokens` and `cacheReadInputTokens`.
 */
export interface Usage {
  /**
   * Prompt tokens neither written to nor read from a cache. Anthropic: `input_tokens` (the tokens
   * after the last cache breakpoint). OpenAI: `prompt_tokens - prompt_tokens_details.cached_tokens`.
   */
  readonly inputTokens: number;
  /** Output tokens (OpenAI: `completion_tokens`, reasoning tokens included). */
  readonly outputTokens: number;
  /** Anthropic `cache_creation_input_tokens`; 0 for OpenAI (it has no cache writes). */
  readonly cacheCreationInputTokens: number;
  /** Anthropic `cache_read_input_tokens`; OpenAI `prompt_tokens_details.cached_tokens`. */
  readonly cacheReadInputTokens: number;
  /**
   * Prompt tokens the provider's input limit counts. Anthropic ITPM: `input_tokens +
   * cache_creation_input_tokens`, cache reads excluded (PROVIDERS.md §1.4), unless the model's
   * limit counts them (Haiku 3.5: `cacheReadsCountTowardLimit`). OpenAI TPM: all prompt tokens,
   * cached ones included (observed: cache hits leave the remaining-tokens header unchanged).
   */
  readonly limitInputTokens: number;
  /** Every prompt token: input + cache creation + cache read. */
  readonly totalInputTokens: number;
  /** OpenAI `completion_tokens_details.reasoning_tokens` (already in `outputTokens`), when sent. */
  readonly reasoningTokens?: number;
}

export interface UsageOptions {
  /**
   * Anthropic models whose ITPM also counts cache reads (Haiku 3.5, marked † in the rate-limit
   * tables). @default false
   */
  readonly cacheReadsCountTowardLimit?: boolean;
}

type Bag = Record<string, unknown>;
const isBag = (v: unknown): v is Bag => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A non-negative integer field; `undefined` when absent, null or not a number. */
export function tokenField(bag: Bag, name: string): number | undefined {
  const v = bag[name];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
}

/** Builds a `Usage` from Anthropic's usage fields (the object under `usage`). */
export function anthropicUsage(
  usage: Bag,
  options: UsageOptions = {},
  previous?: Usage,
): Usage | undefined {
  const input = tokenField(usage, 'input_tokens') ?? previous?.inputTokens;
  const output = tokenField(usage, 'output_tokens') ?? previous?.outputTokens;
  if (input === undefined && output === undefined) return undefined;
  const creation =
    tokenField(usage, 'cache_creation_input_tokens') ?? previous?.cacheCreationInputTokens ?? 0;
  const read = tokenField(usage, 'cache_read_input_tokens') ?? previous?.cacheReadInputTokens ?? 0;
  const inputTokens = input ?? 0;
  return {
    inputTokens,
    outputTokens: output ?? 0,
    cacheCreationInputTokens: creation,
    cacheReadInputTokens: read,
    limitInputTokens:
      inputTokens + creation + (options.cacheReadsCountTowardLimit === true ? read : 0),
    totalInputTokens: inputTokens + creation + read,
  };
}

/** Builds a `Usage` from OpenAI's Chat Completions usage object. */
export function openaiUsage(usage: Bag): Usage | undefined {
  const prompt = tokenField(usage, 'prompt_tokens');
  const completion = tokenField(usage, 'completion_tokens');
  if (prompt === undefined && completion === undefined) return undefined;
  const promptDetails = isBag(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completionDetails = isBag(usage.completion_tokens_details)
    ? usage.completion_tokens_details
    : {};
  const total = prompt ?? 0;
  const cached = Math.min(total, tokenField(promptDetails, 'cached_tokens') ?? 0);
  const result: Usage = {
    inputTokens: total - cached,
    outputTokens: completion ?? 0,
    cacheCreationInputTokens: 0,
    cacheReadInputTokens: cached,
    limitInputTokens: total,
    totalInputTokens: total,
  };
  const reasoning = tokenField(completionDetails, 'reasoning_tokens');
  return reasoning === undefined ? result : { ...result, reasoningTokens: reasoning };
}

/** Parses a JSON text; anything else is returned as is. */
export function parseJsonBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/**
 * The usage of a non-streaming response body (parsed JSON, or its text): Anthropic's message,
 * OpenAI's chat completion. `undefined` when the body carries no usage (an error body, say).
 */
export function usageFromJson(
  provider: Provider,
  body: unknown,
  options: UsageOptions = {},
): Usage | undefined {
  const json = parseJsonBody(body);
  if (!isBag(json) || !isBag(json.usage)) return undefined;
  return provider === 'anthropic' ? anthropicUsage(json.usage, options) : openaiUsage(json.usage);
}
