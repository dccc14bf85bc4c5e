/**
 * What a provider request asks for, read from the URL and the body the SDK sends: which call, the
 * model, the output budget, streaming, and an input-token estimate. Pure: no I/O, no clock.
 */
import { estimateAnthropicInput, estimateOpenaiInput } from './prompt-tokens.js';
import { anthropicTokenEstimator, openaiEstimatorFor, type TokenCounter } from './text-tokens.js';
import { type Provider, parseJsonBody } from './usage.js';

/**
 * The output budget assumed for an OpenAI request without `max_completion_tokens` or
 * `max_tokens`. What OpenAI reserves then is not documented (PROVIDERS.md §2.5); OpenAI staff
 * described the Realtime API reserving the model's largest output (4,096 there). This default is
 * that figure; set `openaiDefaultMaxTokens` to your models' output cap to be safe, or send
 * `max_completion_tokens`.
 */
export const OPENAI_DEFAULT_MAX_TOKENS = 4096;

export type RequestKind = 'messages' | 'chat' | 'other';

export interface RequestDescription {
  readonly provider: Provider;
  /** `messages`: Anthropic `/v1/messages`; `chat`: OpenAI `/v1/chat/completions`. */
  readonly kind: RequestKind;
  readonly model?: string;
  /**
   * The output budget of the request: Anthropic `max_tokens`; OpenAI `max_completion_tokens`,
   * else `max_tokens`, else `openaiDefaultMaxTokens`, times `n` (each choice has its own budget).
   * Absent for `other` requests and for an Anthropic body without `max_tokens` (the API refuses it).
   */
  readonly maxTokens?: number;
  /** `maxTokens` is the default, not the request's. */
  readonly maxTokensDefaulted: boolean;
  readonly stream: boolean;
  /**
   * The stream will report usage: always for Anthropic; for OpenAI when
   * `stream_options.include_usage` is true (see `withStreamUsage`). `false` when not streaming.
   */
  readonly streamUsage: boolean;
  /** Estimated input tokens (0 for `other` requests). */
  readonly inputEstimate: number;
}

export interface DescribeOptions {
  /** Counts text. @default the provider's estimator (OpenAI: by model, o200k or cl100k) */
  readonly counter?: TokenCounter;
  /** OpenAI output budget when the request sets none. @default OPENAI_DEFAULT_MAX_TOKENS (4096) */
  readonly openaiDefaultMaxTokens?: number;
}

type Bag = Record<string, unknown>;
const isBag = (v: unknown): v is Bag => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The path of a URL, relative or absolute, without query and trailing slash. */
function pathOf(url: string | URL): string {
  let path: string;
  if (url instanceof URL) path = url.pathname;
  else {
    try {
      path = new URL(url).pathname;
    } catch {
      path = url.split(/[?#]/)[0] ?? '';
    }
  }
  return path.replace(/\/+$/, '');
}

function kindOf(provider: Provider, url: string | URL): RequestKind {
  const path = pathOf(url);
  if (provider === 'anthropic') return path.endsWith('/messages') ? 'messages' : 'other';
  return path.endsWith('/chat/completions') ? 'chat' : 'other';
}

const positiveInteger = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;

/** A JSON body as the SDKs send it: a string, bytes, or an already parsed object. */
function jsonBody(body: unknown): unknown {
  if (body instanceof Uint8Array) return parseJsonBody(new TextDecoder().decode(body));
  if (body instanceof ArrayBuffer) return parseJsonBody(new TextDecoder().decode(body));
  return parseJsonBody(body);
}

/**
 * Describes a request from its URL and body (JSON text, bytes or an object). A body that is not
 * JSON (a form, a stream) describes as `other` with no estimate.
 */
export function describeRequest(
  provider: Provider,
  url: string | URL,
  body: unknown,
  options: DescribeOptions = {},
): RequestDescription {
  const json = jsonBody(body);
  const bag = isBag(json) ? json : undefined;
  const model = typeof bag?.model === 'string' ? bag.model : undefined;
  const stream = bag?.stream === true;
  const kind = bag ? kindOf(provider, url) : 'other';
  const base = { provider, kind, maxTokensDefaulted: false, stream };
  if (kind === 'other' || !bag) {
    return {
      ...base,
      ...(model === undefined ? {} : { model }),
      streamUsage: false,
      inputEstimate: 0,
    };
  }
  if (provider === 'anthropic') {
    const counter = options.counter ?? anthropicTokenEstimator;
    const maxTokens = positiveInteger(bag.max_tokens);
    return {
      ...base,
      ...(model === undefined ? {} : { model }),
      ...(maxTokens === undefined ? {} : { maxTokens }),
      streamUsage: stream,
      inputEstimate: estimateAnthropicInput(bag, counter),
    };
  }
  const counter = options.counter ?? openaiEstimatorFor(model);
  const asked = positiveInteger(bag.max_completion_tokens) ?? positiveInteger(bag.max_tokens);
  const perChoice = asked ?? options.openaiDefaultMaxTokens ?? OPENAI_DEFAULT_MAX_TOKENS;
  const n = positiveInteger(bag.n) ?? 1;
  const streamOptions = isBag(bag.stream_options) ? bag.stream_options : undefined;
  return {
    ...base,
    ...(model === undefined ? {} : { model }),
    maxTokens: perChoice * n,
    maxTokensDefaulted: asked === undefined,
    streamUsage: stream && streamOptions?.include_usage === true,
    inputEstimate: estimateOpenaiInput(bag, counter),
  };
}

/**
 * An OpenAI streaming body (JSON text) with `stream_options.include_usage: true` added when the
 * caller did not ask for it, other stream options kept; any other body is returned unchanged.
 * The stream then ends with a usage-only chunk (`choices: []`): hide it from a caller that did
 * not ask for it with `tapUsage(..., { hideUsageChunk: true })`.
 */
export function withStreamUsage(body: string): string {
  const json = parseJsonBody(body);
  if (!isBag(json) || json.stream !== true) return body;
  const streamOptions = isBag(json.stream_options) ? json.stream_options : {};
  if (streamOptions.include_usage === true) return body;
  return JSON.stringify({ ...json, stream_options: { ...streamOptions, include_usage: true } });
}
