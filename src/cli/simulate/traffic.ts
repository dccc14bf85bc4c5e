/**
 * One call of the traffic, sent through an official SDK client the strategy made. Every strategy
 * sends the same calls: call `index` streams or not by the same rule, with the same prompt.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import type { Provider, TrafficShape } from './args.js';

/** A client of either SDK, pointed at the simulator. */
export type SdkClient =
  | { readonly provider: 'anthropic'; readonly client: Anthropic }
  | { readonly provider: 'openai'; readonly client: OpenAI };

export interface SdkClientOptions {
  /** `undefined` keeps the SDK's default retries (2 for both). */
  readonly maxRetries?: number;
  readonly fetch?: typeof globalThis.fetch;
}

/** Loads the SDK on demand: both are optional peer dependencies of the package. */
export async function makeClient(
  provider: Provider,
  url: string,
  options: SdkClientOptions,
): Promise<SdkClient> {
  const common = {
    apiKey: 'simulated',
    ...(options.maxRetries !== undefined && { maxRetries: options.maxRetries }),
    ...(options.fetch && { fetch: options.fetch }),
  };
  if (provider === 'anthropic') {
    const { default: Sdk } =
      await importPeer<typeof import('@anthropic-ai/sdk')>('@anthropic-ai/sdk');
    return { provider, client: new Sdk({ baseURL: url, ...common }) };
  }
  const { default: Sdk } = await importPeer<typeof import('openai')>('openai');
  return { provider, client: new Sdk({ baseURL: `${url}/v1`, ...common }) };
}

/** Thrown when optional packages a strategy or the chart needs are not installed. */
export class MissingPackageError extends Error {
  readonly packageNames: readonly string[];

  constructor(...packageNames: [string, ...string[]]) {
    const quoted = packageNames.map((n) => `"${n}"`);
    const what =
      quoted.length === 1
        ? `the package ${quoted[0]}, which is not installed here`
        : `the packages ${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}, which are not installed here`;
    super(`this needs ${what}: npm install ${packageNames.join(' ')}`);
    this.name = 'MissingPackageError';
    this.packageNames = packageNames;
  }
}

export async function importPeer<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND')
      throw new MissingPackageError(name);
    throw error;
  }
}

/** Prompt text of about `tokens` tokens by the simulator's count (4 characters a token). */
export function promptOf(tokens: number): string {
  const words = 'Summarise the rate limits of this organisation in one short paragraph please ';
  return words.repeat(Math.ceil((tokens * 4) / words.length)).slice(0, tokens * 4);
}

/** Whether call `index` streams: spread evenly (golden-ratio sequence), the same in every run. */
export function streams(index: number, share: number): boolean {
  return (index * 0.6180339887498949) % 1 < share;
}

/** The input and output token counts a call's request asks for, as a limiter would charge them. */
export function chargeOf(traffic: TrafficShape): { input: number; output: number } {
  return { input: traffic.promptTokens, output: traffic.maxTokens };
}

/** Sends call `index`; resolves with the output tokens the response reported. */
export async function sendCall(
  sdk: SdkClient,
  model: string,
  traffic: TrafficShape,
  prompt: string,
  index: number,
  signal: AbortSignal,
): Promise<number> {
  const stream = streams(index, traffic.streamShare);
  const messages = [{ role: 'user' as const, content: prompt }];
  if (sdk.provider === 'anthropic') {
    const params = { model, max_tokens: traffic.maxTokens, messages };
    if (stream) {
      const message = await sdk.client.messages.stream(params, { signal }).finalMessage();
      return message.usage.output_tokens;
    }
    const message = await sdk.client.messages.create(params, { signal });
    return message.usage.output_tokens;
  }
  const params = { model, max_tokens: traffic.maxTokens, messages };
  if (stream) {
    const chunks = await sdk.client.chat.completions.create(
      { ...params, stream: true, stream_options: { include_usage: true } },
      { signal },
    );
    let output = 0;
    for await (const chunk of chunks) if (chunk.usage) output = chunk.usage.completion_tokens;
    return output;
  }
  const completion = await sdk.client.chat.completions.create(params, { signal });
  return completion.usage?.completion_tokens ?? 0;
}
