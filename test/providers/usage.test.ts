import { describe, expect, it } from 'vitest';
import { usageFromJson } from '../../src/providers/usage.js';

/** A Messages API response with prompt caching, as the API documents it. */
const ANTHROPIC_MESSAGE = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  content: [{ type: 'text', text: 'Hello!' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: {
    input_tokens: 50,
    cache_creation_input_tokens: 1500,
    cache_read_input_tokens: 10_000,
    cache_creation: { ephemeral_5m_input_tokens: 1500, ephemeral_1h_input_tokens: 0 },
    output_tokens: 503,
    service_tier: 'standard',
  },
};

/** A Chat Completions response with cached and reasoning tokens. */
const OPENAI_COMPLETION = {
  id: 'chatcmpl-abc123',
  object: 'chat.completion',
  created: 1_741_569_952,
  model: 'o4-mini-2025-04-16',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hi', refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 2006,
    completion_tokens: 300,
    total_tokens: 2306,
    prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 256,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  },
};

describe('usageFromJson', () => {
  it('Anthropic: ITPM counts input and cache writes, not cache reads', () => {
    expect(usageFromJson('anthropic', ANTHROPIC_MESSAGE)).toEqual({
      inputTokens: 50,
      outputTokens: 503,
      cacheCreationInputTokens: 1500,
      cacheReadInputTokens: 10_000,
      limitInputTokens: 1550,
      totalInputTokens: 11_550,
    });
  });

  it('Anthropic: cache reads count toward the limit of the models that count them', () => {
    const usage = usageFromJson('anthropic', ANTHROPIC_MESSAGE, {
      cacheReadsCountTowardLimit: true,
    });
    expect(usage?.limitInputTokens).toBe(11_550);
  });

  it('Anthropic: missing or null cache fields read as 0', () => {
    const usage = usageFromJson('anthropic', {
      usage: { input_tokens: 12, output_tokens: 3, cache_creation_input_tokens: null },
    });
    expect(usage).toMatchObject({
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
      limitInputTokens: 12,
    });
  });

  it('OpenAI: cached tokens are part of prompt_tokens and still count toward TPM', () => {
    expect(usageFromJson('openai', JSON.stringify(OPENAI_COMPLETION))).toEqual({
      inputTokens: 86,
      outputTokens: 300,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 1920,
      limitInputTokens: 2006,
      totalInputTokens: 2006,
      reasoningTokens: 256,
    });
  });

  it('gives no usage for error bodies, non-JSON text and bodies without usage', () => {
    const error = {
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
      request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy',
    };
    expect(usageFromJson('anthropic', error)).toBeUndefined();
    expect(usageFromJson('openai', '<html>502 Bad Gateway</html>')).toBeUndefined();
    expect(usageFromJson('openai', { usage: { total_tokens: 5 } })).toBeUndefined();
    expect(usageFromJson('anthropic', null)).toBeUndefined();
  });
});
