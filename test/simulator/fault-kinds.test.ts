import { describe, expect, it } from 'vitest';
import { classifyError, type ErrorKind } from '../../src/providers/classify.js';
import { FAULT_KINDS, type FaultKind } from '../../src/simulator/faults.js';
import { anthropicClient, openaiClient, start } from './helpers.js';

/** What `classifyError` makes of each fault as the real SDK throws it: [JSON, stream]. */
type Outcome = ErrorKind | 'ok';

// A Record, so that a new fault kind does not compile until its outcome is written down here.
const EXPECTED: Readonly<
  Record<FaultKind, Readonly<Record<'anthropic' | 'openai', readonly [Outcome, Outcome]>>>
> = {
  rate_limit: { anthropic: ['rate-limit', 'rate-limit'], openai: ['rate-limit', 'rate-limit'] },
  overloaded: { anthropic: ['overloaded', 'overloaded'], openai: ['server', 'server'] },
  server_error: { anthropic: ['server', 'server'], openai: ['server', 'server'] },
  bad_gateway: { anthropic: ['server', 'server'], openai: ['server', 'server'] },
  service_unavailable: { anthropic: ['server', 'server'], openai: ['server', 'server'] },
  connection_reset: {
    anthropic: ['connection', 'connection'],
    openai: ['connection', 'connection'],
  },
  reset_mid_stream: {
    anthropic: ['connection', 'connection'],
    openai: ['connection', 'connection'],
  },
  // The JSON answer is the overloaded status; the stream ends with the error event (no status).
  error_mid_stream: { anthropic: ['overloaded', 'overloaded'], openai: ['server', 'server'] },
  // Before any event: the JSON answer is the overloaded status; the stream's first event is the
  // error event.
  error_at_stream_start: {
    anthropic: ['overloaded', 'overloaded'],
    openai: ['server', 'server'],
  },
  close_at_stream_start: {
    anthropic: ['connection', 'connection'],
    openai: ['connection', 'connection'],
  },
  slow_first_byte: { anthropic: ['ok', 'ok'], openai: ['ok', 'ok'] },
  slow_first_event: { anthropic: ['ok', 'ok'], openai: ['ok', 'ok'] },
  // Anthropic's "credit balance is too low" is a 400 invalid_request_error: the whole message is
  // the API's fixed sentence.
  insufficient_quota: { anthropic: ['quota', 'quota'], openai: ['quota', 'quota'] },
  billing: { anthropic: ['quota', 'quota'], openai: ['quota', 'quota'] },
  authentication: { anthropic: ['client', 'client'], openai: ['client', 'client'] },
  invalid_request: { anthropic: ['client', 'client'], openai: ['client', 'client'] },
  // A 429 by its `details.error_code` (Anthropic) or `insufficient_quota` (OpenAI); it latches,
  // so the second call is refused by the cap already reached (last in FAULT_KINDS).
  spend_cap: { anthropic: ['quota', 'quota'], openai: ['quota', 'quota'] },
};

/** Faults that let the request through the limits (and charge it). */
const ADMITTED: ReadonlySet<FaultKind> = new Set([
  'reset_mid_stream',
  'error_mid_stream',
  'error_at_stream_start',
  'close_at_stream_start',
  'slow_first_byte',
  'slow_first_event',
]);

/** Reads a stream to its end or its error. */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // Only how the stream ends matters here.
  }
}

describe.each(['anthropic', 'openai'] as const)('%s: every fault kind', (provider) => {
  it('reaches the real SDK as an error classifyError recognises, and is counted', async () => {
    const sim = await start({ provider, outputTokens: 40, faults: { slowFirstByteMs: 1 } });
    const params = {
      model: 'm',
      max_tokens: 64,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const call = async (stream: boolean): Promise<void> => {
      if (provider === 'anthropic') {
        const messages = anthropicClient(sim).messages;
        if (stream) await drain(await messages.create({ ...params, stream }));
        else await messages.create(params);
      } else {
        const completions = openaiClient(sim).chat.completions;
        if (stream) await drain(await completions.create({ ...params, stream }));
        else await completions.create(params);
      }
    };
    for (const kind of FAULT_KINDS) {
      for (const [i, stream] of [false, true].entries()) {
        sim.script({ kind });
        const outcome = await call(stream).then(
          (): Outcome => 'ok',
          (error: unknown) => classifyError(error).kind,
        );
        expect({ kind, stream, outcome }).toEqual({
          kind,
          stream,
          outcome: EXPECTED[kind][provider][i],
        });
      }
    }
    await expect.poll(() => sim.stats().concurrency.current).toBe(0);
    const stats = sim.stats();
    expect(stats.faults).toEqual(
      Object.fromEntries(FAULT_KINDS.map((kind) => [kind, kind === 'spend_cap' ? 1 : 2])),
    );
    expect(stats.spendCap).toMatchObject({ refused: 2 });
    expect(stats.admitted).toBe(2 * ADMITTED.size);
    // Every request got a status but the two reset before any byte.
    const answered = Object.values(stats.statuses).reduce((sum, n) => sum + n, 0);
    expect(answered).toBe(stats.requests - 2);
  });
});
