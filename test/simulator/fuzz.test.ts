import { request } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { anthropicClient, openaiClient, start } from './helpers.js';

interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Sends one request with node:http (which, unlike fetch, allows a body on any method). */
function send(
  sim: Simulator,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${sim.url}${path}`,
      { method, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const printable = fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,30}$/);

const messageish = fc.record(
  {
    role: fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'tool'), fc.anything()),
    content: fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(
        fc.oneof(
          fc.record({ type: fc.constant('text'), text: fc.string({ maxLength: 100 }) }),
          fc.record({
            type: fc.constant('text'),
            text: fc.string(),
            cache_control: fc.constant({ type: 'ephemeral' }),
          }),
          fc.anything(),
        ),
        { maxLength: 4 },
      ),
      fc.anything(),
    ),
  },
  { requiredKeys: [] },
);

/** Bodies near the valid shape (to reach deep validation) and plain garbage. */
const body = fc.oneof(
  // Valid apart from random text, sizes and flags: these reach the model and the limits.
  fc
    .record({
      model: fc.constant('m'),
      max_tokens: fc.integer({ min: 1, max: 300 }),
      messages: fc.constant([{ role: 'user', content: 'hello' }]),
      stream: fc.boolean(),
      system: fc.string({ maxLength: 200 }),
    })
    .map((value) => Buffer.from(JSON.stringify(value))),
  fc
    .record(
      {
        model: fc.oneof(fc.constantFrom('claude-sonnet-4', 'gpt-4o'), fc.anything()),
        max_tokens: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double(), fc.anything()),
        max_completion_tokens: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.anything()),
        messages: fc.oneof(fc.array(messageish, { maxLength: 4 }), fc.anything()),
        system: fc.oneof(fc.string(), fc.anything()),
        tools: fc.oneof(fc.array(fc.anything(), { maxLength: 3 }), fc.anything()),
        stream: fc.oneof(fc.boolean(), fc.anything()),
        stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }), fc.anything()),
        n: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.anything()),
      },
      { requiredKeys: [] },
    )
    .map((value) => Buffer.from(JSON.stringify(value))),
  fc.json().map((text) => Buffer.from(text)),
  fc.string({ maxLength: 300 }).map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 3000, max: 6000 }).map((n) => Buffer.from(`{"model":"${'x'.repeat(n)}"}`)),
);

const headerSet = (provider: 'anthropic' | 'openai') =>
  fc.record(
    {
      auth:
        provider === 'anthropic'
          ? fc.oneof(
              fc.constant({ 'x-api-key': 'test' }),
              printable.map((k) => ({ 'x-api-key': k })),
            )
          : fc.oneof(
              fc.constant({ authorization: 'Bearer test' }),
              printable.map((k) => ({ authorization: k })),
            ),
      version: fc.oneof(fc.constant('2023-06-01'), printable),
      contentType: fc.oneof(fc.constant('application/json'), printable),
      extra: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), printable, { maxKeys: 3 }),
    },
    { requiredKeys: [] },
  );

function expectProviderShape(provider: 'anthropic' | 'openai', res: RawResponse): void {
  expect(res.status).toBeGreaterThanOrEqual(200);
  expect(res.status).toBeLessThan(600);
  // No faults are configured: a 500 could only come from a bug caught by the server.
  expect(res.status).not.toBe(500);
  if (res.status === 200 && res.contentType.startsWith('text/event-stream')) {
    expect(res.body).toMatch(
      provider === 'anthropic' ? /event: message_stop\n/ : /data: \[DONE\]\n\n$/,
    );
    return;
  }
  expect(res.contentType).toBe('application/json');
  const json = JSON.parse(res.body) as Record<string, unknown>;
  if (res.status === 200) {
    expect(json).toHaveProperty(
      provider === 'anthropic' ? 'type' : 'object',
      provider === 'anthropic' ? 'message' : 'chat.completion',
    );
    expect(json).toHaveProperty('usage');
    return;
  }
  expect(res.status).toBeGreaterThanOrEqual(400);
  if (provider === 'anthropic') {
    expect(json).toMatchObject({
      type: 'error',
      error: { type: expect.any(String), message: expect.any(String) },
    });
  } else {
    expect(json).toMatchObject({
      error: { message: expect.any(String), type: expect.any(String) },
    });
    expect(json.error).toHaveProperty('param');
    expect(json.error).toHaveProperty('code');
  }
}

describe.each(['anthropic', 'openai'] as const)(
  '%s: random requests never crash the server',
  (provider) => {
    it('answers every one with a provider-shaped body, then still serves the SDK', async () => {
      const sim = await start({
        provider,
        maxBodyBytes: 4096,
        limits:
          provider === 'anthropic' ? { rpm: 10_000, otpm: 200_000 } : { rpm: 10_000, tpm: 200_000 },
      });
      const path = provider === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
      let sent = 0;
      const statuses = new Set<number>();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 5, arbitrary: fc.constant('POST') },
            { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH') },
          ),
          fc.oneof(
            { weight: 5, arbitrary: fc.constant(path) },
            { weight: 1, arbitrary: fc.webPath().map((p) => `/${p.replace(/^\/+/, '')}`) },
          ),
          headerSet(provider),
          body,
          async (method, target, headers, payload) => {
            const flat: Record<string, string> = { ...headers.extra, ...headers.auth };
            if (headers.version !== undefined) flat['anthropic-version'] = headers.version;
            if (headers.contentType !== undefined) flat['content-type'] = headers.contentType;
            sent++;
            const res = await send(sim, method, target, flat, payload);
            statuses.add(res.status);
            expectProviderShape(provider, res);
          },
        ),
        { numRuns: 200 },
      );
      // The fuzzing reached both refusals and real answers.
      expect(statuses.has(400)).toBe(true);
      expect(statuses.has(200)).toBe(true);
      expect(sim.stats().requests).toBe(sent);
      if (provider === 'anthropic') {
        const m = await anthropicClient(sim).messages.create({
          model: 'm',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'still there?' }],
        });
        expect(m.type).toBe('message');
      } else {
        const c = await openaiClient(sim).chat.completions.create({
          model: 'm',
          messages: [{ role: 'user', content: 'still there?' }],
        });
        expect(c.object).toBe('chat.completion');
      }
    });
  },
);
