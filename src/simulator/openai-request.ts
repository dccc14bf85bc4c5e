import { openaiError } from './openai-errors.js';
import { isRecord, openaiPromptTokens } from './tokens.js';
import type { ParseResult } from './wire.js';

/** Validation of a Chat Completions body, with the API's messages, `param` and `code`. */

const invalid = (
  message: string,
  param: string | null = null,
  code: string | null = null,
): ParseResult => ({
  ok: false,
  error: openaiError('invalid_request', message, { param, code }),
});

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

function checkPositiveInteger(
  body: Record<string, unknown>,
  name: string,
): ParseResult | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    return invalid(
      `Invalid type for '${name}': expected an integer, but got ${typeName(value)} instead.`,
      name,
      'invalid_type',
    );
  if (value < 1)
    return invalid(
      `Invalid '${name}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
      name,
      'integer_below_min_value',
    );
  return undefined;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

export function parseOpenaiRequest(body: unknown, defaultMaxTokens: number): ParseResult {
  if (!isRecord(body))
    return invalid(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    );
  if (body.model === undefined || body.model === null || body.model === '')
    return invalid('you must provide a model parameter');
  if (typeof body.model !== 'string')
    return invalid(
      `Invalid type for 'model': expected a string, but got ${typeName(body.model)} instead.`,
      'model',
      'invalid_type',
    );
  if (body.messages === undefined)
    return invalid(
      "Missing required parameter: 'messages'.",
      'messages',
      'missing_required_parameter',
    );
  if (!Array.isArray(body.messages))
    return invalid(
      `Invalid type for 'messages': expected an array, but got ${typeName(body.messages)} instead.`,
      'messages',
      'invalid_type',
    );
  if (body.messages.length === 0)
    return invalid(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  for (const [i, message] of body.messages.entries()) {
    const param = `messages[${i}]`;
    if (!isRecord(message))
      return invalid(
        `Invalid type for '${param}': expected an object, but got ${typeName(message)} instead.`,
        param,
        'invalid_type',
      );
    if (message.role === undefined)
      return invalid(
        `Missing required parameter: '${param}.role'.`,
        `${param}.role`,
        'missing_required_parameter',
      );
    if (typeof message.role !== 'string' || !ROLES.has(message.role))
      return invalid(
        `Invalid value: '${String(message.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `${param}.role`,
        'invalid_value',
      );
    const content = message.content;
    if (
      content !== undefined &&
      content !== null &&
      typeof content !== 'string' &&
      !Array.isArray(content)
    )
      return invalid(
        `Invalid type for '${param}.content': expected one of a string or array of objects, but got ${typeName(content)} instead.`,
        `${param}.content`,
        'invalid_type',
      );
  }
  const badInteger =
    checkPositiveInteger(body, 'max_tokens') ??
    checkPositiveInteger(body, 'max_completion_tokens') ??
    checkPositiveInteger(body, 'n');
  if (badInteger) return badInteger;
  if (typeof body.n === 'number' && body.n !== 1)
    return invalid('The simulator supports only n = 1.', 'n', 'unsupported_value');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
    return invalid(
      `Invalid type for 'stream': expected a boolean, but got ${typeName(body.stream)} instead.`,
      'stream',
      'invalid_type',
    );
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (body.stream !== true)
      return invalid(
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        'stream_options',
        'invalid_value',
      );
    if (!isRecord(streamOptions))
      return invalid(
        `Invalid type for 'stream_options': expected an object, but got ${typeName(streamOptions)} instead.`,
        'stream_options',
        'invalid_type',
      );
  }
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools))
    return invalid(
      `Invalid type for 'tools': expected an array, but got ${typeName(body.tools)} instead.`,
      'tools',
      'invalid_type',
    );
  const maxTokens = (body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens) as number;
  return {
    ok: true,
    request: {
      model: body.model,
      maxTokens,
      stream: body.stream === true,
      includeUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
      promptTokens: openaiPromptTokens({ tools: body.tools, messages: body.messages }),
    },
  };
}
