/**
 * Input-token estimates of whole request bodies: Anthropic Messages and OpenAI Chat Completions,
 * text through a `TokenCounter`, images and PDFs by the providers' published rules, plus the
 * fixed costs the formats add. Pure: no I/O, no clock.
 */
import {
  anthropicImageTokens,
  imageSizeFromBase64,
  type OpenaiImageDetail,
  openaiImageTokens,
  pdfPageCount,
} from './image-tokens.js';
import type { TokenCounter } from './text-tokens.js';

type Bag = Record<string, unknown>;
const isBag = (v: unknown): v is Bag => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Tokens per PDF page (Anthropic's PDF guide: 1,500-3,000 text tokens a page, plus the page as
 * an image). Also the cost of a document whose pages cannot be counted.
 */
export const PDF_PAGE_TOKENS = 3000;

/**
 * Anthropic's tool-use system prompt, added when `tools` is set (the pricing page's table for
 * Claude 4 models): 346 tokens with `tool_choice` auto or none, 313 with any or a named tool.
 */
const ANTHROPIC_TOOL_PROMPT = { auto: 346, forced: 313 } as const;
/**
 * Role markers around each message (a few tokens each) and the frame of the request: not
 * published by Anthropic; a small allowance.
 */
const ANTHROPIC_PER_MESSAGE = 4;
const ANTHROPIC_PER_REQUEST = 3;

/** OpenAI's cookbook: 3 tokens per message, 1 more with a `name`, 3 to prime the reply. */
const OPENAI_PER_MESSAGE = 3;
const OPENAI_PER_NAME = 1;
const OPENAI_REPLY_PRIMING = 3;

/** JSON text of a value, without Anthropic's `cache_control` marks (they are not prompt text). */
function jsonText(value: unknown): string {
  if (!isBag(value)) return JSON.stringify(value) ?? '';
  const { cache_control: _ignored, ...rest } = value;
  return JSON.stringify(rest);
}

function pdfTokens(base64: string): number {
  return (pdfPageCount(base64) ?? 1) * PDF_PAGE_TOKENS;
}

// ---- Anthropic ---------------------------------------------------------------------------

function anthropicSourceTokens(block: Bag, counter: TokenCounter): number {
  const source = isBag(block.source) ? block.source : {};
  if (block.type === 'image') {
    const size =
      source.type === 'base64' && typeof source.data === 'string'
        ? imageSizeFromBase64(source.data)
        : undefined;
    return anthropicImageTokens(size);
  }
  // document: text, inline content blocks, a base64 PDF, a URL or a file
  let tokens = 0;
  if (typeof block.title === 'string') tokens += counter.count(block.title);
  if (typeof block.context === 'string') tokens += counter.count(block.context);
  if (source.type === 'text' && typeof source.data === 'string')
    return tokens + counter.count(source.data);
  if (source.type === 'content') return tokens + anthropicContentTokens(source.content, counter);
  if (source.type === 'base64' && typeof source.data === 'string')
    return tokens + pdfTokens(source.data);
  return tokens + PDF_PAGE_TOKENS;
}

function anthropicBlockTokens(block: unknown, counter: TokenCounter): number {
  if (typeof block === 'string') return counter.count(block);
  if (!isBag(block)) return 0;
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? counter.count(block.text) : 0;
    case 'image':
    case 'document':
      return anthropicSourceTokens(block, counter);
    case 'tool_use':
    case 'server_tool_use':
      return counter.count(String(block.name ?? '')) + counter.count(JSON.stringify(block.input));
    case 'tool_result':
      return anthropicContentTokens(block.content, counter);
    case 'thinking':
      return typeof block.thinking === 'string' ? counter.count(block.thinking) : 0;
    case 'redacted_thinking':
      // Encrypted reasoning: its length is the only measure there is.
      return typeof block.data === 'string' ? Math.ceil(block.data.length / 4) : 0;
    default:
      return counter.count(jsonText(block));
  }
}

function anthropicContentTokens(content: unknown, counter: TokenCounter): number {
  if (typeof content === 'string') return counter.count(content);
  if (!Array.isArray(content)) return 0;
  let tokens = 0;
  for (const block of content) tokens += anthropicBlockTokens(block, counter);
  return tokens;
}

/** Estimated input tokens of an Anthropic Messages body: tools, system, messages. */
export function estimateAnthropicInput(body: Bag, counter: TokenCounter): number {
  let tokens = ANTHROPIC_PER_REQUEST;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    for (const tool of body.tools) tokens += counter.count(jsonText(tool));
    const choice = isBag(body.tool_choice) ? body.tool_choice.type : undefined;
    tokens +=
      choice === 'any' || choice === 'tool'
        ? ANTHROPIC_TOOL_PROMPT.forced
        : ANTHROPIC_TOOL_PROMPT.auto;
  }
  tokens += anthropicContentTokens(body.system, counter);
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isBag(message)) continue;
      tokens += ANTHROPIC_PER_MESSAGE + anthropicContentTokens(message.content, counter);
    }
  }
  return tokens;
}

// ---- OpenAI ------------------------------------------------------------------------------

function openaiPartTokens(part: unknown, counter: TokenCounter, model: string | undefined) {
  if (typeof part === 'string') return counter.count(part);
  if (!isBag(part)) return 0;
  switch (part.type) {
    case 'text':
      return typeof part.text === 'string' ? counter.count(part.text) : 0;
    case 'refusal':
      return typeof part.refusal === 'string' ? counter.count(part.refusal) : 0;
    case 'image_url': {
      const image = isBag(part.image_url) ? part.image_url : {};
      const url = typeof image.url === 'string' ? image.url : '';
      const detail: OpenaiImageDetail =
        image.detail === 'low' || image.detail === 'high' ? image.detail : 'auto';
      const base64 = /^data:[^;,]*;base64,/.exec(url);
      const size = base64 ? imageSizeFromBase64(url.slice(base64[0].length)) : undefined;
      return openaiImageTokens(model, size, detail);
    }
    case 'file': {
      const file = isBag(part.file) ? part.file : {};
      const data = typeof file.file_data === 'string' ? file.file_data : '';
      const base64 = /^data:[^;,]*;base64,/.exec(data);
      return base64 ? pdfTokens(data.slice(base64[0].length)) : PDF_PAGE_TOKENS;
    }
    case 'input_audio':
      // Audio tokens depend on the duration, which the body does not state: corrected at settle.
      return 0;
    default:
      return counter.count(jsonText(part));
  }
}

function openaiContentTokens(content: unknown, counter: TokenCounter, model: string | undefined) {
  if (typeof content === 'string') return counter.count(content);
  if (!Array.isArray(content)) return 0;
  let tokens = 0;
  for (const part of content) tokens += openaiPartTokens(part, counter, model);
  return tokens;
}

/** Estimated prompt tokens of an OpenAI Chat Completions body. */
export function estimateOpenaiInput(body: Bag, counter: TokenCounter): number {
  const model = typeof body.model === 'string' ? body.model : undefined;
  let tokens = OPENAI_REPLY_PRIMING;
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isBag(message)) continue;
      tokens += OPENAI_PER_MESSAGE + openaiContentTokens(message.content, counter, model);
      if (typeof message.name === 'string') tokens += OPENAI_PER_NAME + counter.count(message.name);
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) {
          const fn = isBag(call) && isBag(call.function) ? call.function : undefined;
          if (fn)
            tokens +=
              counter.count(String(fn.name ?? '')) + counter.count(String(fn.arguments ?? ''));
        }
      }
    }
  }
  // Tool definitions and structured-output schemas are injected into the prompt.
  if (Array.isArray(body.tools))
    for (const tool of body.tools) tokens += counter.count(jsonText(tool));
  if (Array.isArray(body.functions))
    for (const fn of body.functions) tokens += counter.count(jsonText(fn));
  if (isBag(body.response_format) && body.response_format.type === 'json_schema')
    tokens += counter.count(jsonText(body.response_format.json_schema));
  return tokens;
}
