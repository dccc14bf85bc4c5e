import { describe, expect, it } from 'vitest';
import {
  describeRequest,
  OPENAI_DEFAULT_MAX_TOKENS,
  withStreamUsage,
} from '../../src/providers/request.js';
import type { TokenCounter } from '../../src/providers/text-tokens.js';

/** One token per character: makes the structure of an estimate visible. */
const perChar: TokenCounter = { count: (text) => text.length };

const anthropicBody = {
  model: 'claude-opus-4-8',
  max_tokens: 1024,
  system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'user', content: 'Hello' },
    { role: 'assistant', content: [{ type: 'text', text: 'Hi!' }] },
    {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 'toolu_01',
          content: [{ type: 'text', text: 'sunny' }],
        },
        { type: 'text', text: 'And tomorrow?' },
      ],
    },
  ],
};

describe('describeRequest: Anthropic', () => {
  it('reads a Messages body as the SDK sends it (JSON text, beta query)', () => {
    const description = describeRequest(
      'anthropic',
      'https://api.anthropic.com/v1/messages?beta=true',
      JSON.stringify({ ...anthropicBody, stream: true }),
      { counter: perChar },
    );
    // 3 per request, 4 per message, the text: 'Be brief.' 9, 'Hello' 5, 'Hi!' 3, 'sunny' 5, 'And tomorrow?' 13.
    expect(description).toEqual({
      provider: 'anthropic',
      kind: 'messages',
      model: 'claude-opus-4-8',
      maxTokens: 1024,
      maxTokensDefaulted: false,
      stream: true,
      streamUsage: true,
      inputEstimate: 3 + 3 * 4 + 9 + 5 + 3 + 5 + 13,
    });
  });

  it('counts tools with the tool-use system prompt, and images by their size', () => {
    const tool = { name: 'get_weather', input_schema: { type: 'object' } };
    const png = Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 3,
      0xe8, 0, 0, 3, 0xe8, 8, 6, 0, 0, 0,
    ]).toString('base64');
    const body = {
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      tools: [tool],
      tool_choice: { type: 'any' },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
          ],
        },
      ],
    };
    const { inputEstimate } = describeRequest('anthropic', '/v1/messages', body, {
      counter: perChar,
    });
    // 1000 x 1000 px: 1,334 tokens; 313 for a forced tool choice.
    expect(inputEstimate).toBe(3 + 4 + 1334 + JSON.stringify(tool).length + 313);
  });

  it('treats other endpoints as other, with no estimate', () => {
    for (const path of ['/v1/messages/count_tokens', '/v1/messages/batches', '/v1/models']) {
      expect(
        describeRequest('anthropic', `https://api.anthropic.com${path}`, anthropicBody),
      ).toMatchObject({
        kind: 'other',
        inputEstimate: 0,
        model: 'claude-opus-4-8',
      });
    }
    expect(describeRequest('anthropic', '/v1/messages', 'not json').kind).toBe('other');
  });

  it('leaves maxTokens out when the body has none (the API refuses it)', () => {
    const { max_tokens: _omitted, ...body } = anthropicBody;
    const description = describeRequest('anthropic', '/v1/messages', body);
    expect(description.maxTokens).toBeUndefined();
    expect(description.maxTokensDefaulted).toBe(false);
  });

  it('errs above the simulator rule with the default estimator', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
    const { inputEstimate } = describeRequest('anthropic', '/v1/messages', {
      model: 'claude-opus-4-8',
      max_tokens: 5,
      messages: [{ role: 'user', content: text }],
    });
    expect(inputEstimate).toBeGreaterThan(Math.ceil(text.length / 4));
  });
});

describe('describeRequest: OpenAI', () => {
  const body = {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', name: 'mina', content: [{ type: 'text', text: 'Hello' }] },
    ],
  };

  it('prefers max_completion_tokens to max_tokens, and multiplies by n', () => {
    const both = { ...body, max_tokens: 100, max_completion_tokens: 300, n: 2 };
    expect(
      describeRequest('openai', 'https://api.openai.com/v1/chat/completions', both),
    ).toMatchObject({
      kind: 'chat',
      maxTokens: 600,
      maxTokensDefaulted: false,
    });
    expect(
      describeRequest('openai', '/v1/chat/completions', { ...body, max_tokens: 100 }).maxTokens,
    ).toBe(100);
  });

  it('applies the documented default when no budget is set, or the one given', () => {
    expect(describeRequest('openai', '/v1/chat/completions', body)).toMatchObject({
      maxTokens: OPENAI_DEFAULT_MAX_TOKENS,
      maxTokensDefaulted: true,
    });
    expect(
      describeRequest('openai', '/v1/chat/completions', body, { openaiDefaultMaxTokens: 16_384 })
        .maxTokens,
    ).toBe(16_384);
  });

  it("counts 3 per message, 1 per name and 3 to prime the reply (OpenAI's cookbook)", () => {
    const { inputEstimate } = describeRequest('openai', '/v1/chat/completions', body, {
      counter: perChar,
    });
    expect(inputEstimate).toBe(3 + (3 + 9) + (3 + 5 + 1 + 4));
  });

  it('says whether a stream will report usage', () => {
    const url = '/v1/chat/completions';
    expect(describeRequest('openai', url, { ...body, stream: true }).streamUsage).toBe(false);
    expect(
      describeRequest('openai', url, {
        ...body,
        stream: true,
        stream_options: { include_usage: true },
      }).streamUsage,
    ).toBe(true);
    expect(describeRequest('openai', url, body).streamUsage).toBe(false);
  });

  it('reads a body sent as bytes, and an Azure deployment path', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...body, max_tokens: 50 }));
    expect(
      describeRequest(
        'openai',
        'https://my.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21',
        bytes,
      ),
    ).toMatchObject({ kind: 'chat', maxTokens: 50 });
    expect(describeRequest('openai', '/v1/embeddings', body).kind).toBe('other');
  });
});

describe('withStreamUsage', () => {
  it('adds include_usage to a stream that did not ask, keeping other stream options', () => {
    const text = JSON.stringify({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_obfuscation: false },
    });
    expect(JSON.parse(withStreamUsage(text))).toEqual({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_obfuscation: false, include_usage: true },
    });
    expect(
      JSON.parse(
        withStreamUsage(JSON.stringify({ stream: true, stream_options: { include_usage: false } })),
      ),
    ).toEqual({ stream: true, stream_options: { include_usage: true } });
  });

  it('returns any other body unchanged', () => {
    const asked = JSON.stringify({ stream: true, stream_options: { include_usage: true } });
    for (const text of [
      asked,
      JSON.stringify({ stream: false }),
      JSON.stringify({ model: 'x' }),
      'not json',
    ])
      expect(withStreamUsage(text)).toBe(text);
  });
});
