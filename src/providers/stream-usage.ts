/**
 * Follows one provider stream's events and keeps what they say about usage: Anthropic's
 * `message_start` and `message_delta` usage (`output_tokens` is cumulative), OpenAI's final usage
 * chunk, the provider's `error` event, and the text of the deltas (to count the output produced
 * when no usage arrives). Pure: events in, figures out.
 */
import type { SseBlock } from './sse-decoder.js';
import { anthropicTokenEstimator, openaiEstimatorFor, type TokenCounter } from './text-tokens.js';
import {
  anthropicUsage,
  openaiUsage,
  type Provider,
  type Usage,
  type UsageOptions,
} from './usage.js';

type Bag = Record<string, unknown>;
const isBag = (v: unknown): v is Bag => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface StreamUsageOptions extends UsageOptions {
  /**
   * Counts the output text of the deltas when the provider reports no usage (a stream cut short,
   * an OpenAI stream without `include_usage`). @default the provider's estimator
   */
  readonly counter?: TokenCounter;
}

/** What one stream said so far. */
export interface StreamUsageState {
  /** The provider's usage, as far as it was reported (the final figures once complete). */
  readonly usage?: Usage;
  /**
   * Output tokens produced so far: the provider's figure once the stream completed with usage,
   * otherwise the larger of its last figure and the deltas' count.
   */
  readonly outputSoFar: number;
  /** The stream's end marker arrived (Anthropic `message_stop`, OpenAI `[DONE]`) with no error. */
  readonly complete: boolean;
  /** The provider's error event body, when one arrived. */
  readonly providerError?: unknown;
  /** Events with data received. */
  readonly events: number;
  /** The model the response names. */
  readonly model?: string;
}

export class StreamUsageTracker {
  private usage: Usage | undefined;
  private complete = false;
  private providerError: unknown;
  private hasError = false;
  private events = 0;
  private model: string | undefined;
  private deltaMeasure = 0;
  private deltaRoundedSum = 0;
  /** OpenAI: chunks with output text; the API streams about one token per chunk. */
  private deltaChunks = 0;
  private readonly counter: TokenCounter | undefined;

  constructor(
    private readonly provider: Provider,
    private readonly options: StreamUsageOptions = {},
  ) {
    this.counter = options.counter;
  }

  /** Takes one block of the stream. */
  onBlock(block: SseBlock): void {
    if (block.data === undefined) return;
    this.events++;
    if (this.provider === 'openai' && block.data.trim() === '[DONE]') {
      if (!this.hasError) this.complete = true;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(block.data);
    } catch {
      if (block.event === 'error') this.fail(block.data);
      return;
    }
    if (this.provider === 'anthropic') this.onAnthropic(block.event, json);
    else this.onOpenai(json);
  }

  state(): StreamUsageState {
    const counted = this.countedOutput();
    let outputSoFar: number;
    if (this.complete && this.usage) outputSoFar = this.usage.outputTokens;
    else outputSoFar = Math.max(this.usage?.outputTokens ?? 0, counted);
    const state: {
      -readonly [K in keyof StreamUsageState]: StreamUsageState[K];
    } = { outputSoFar, complete: this.complete, events: this.events };
    if (this.usage) state.usage = this.usage;
    if (this.hasError) state.providerError = this.providerError;
    if (this.model !== undefined) state.model = this.model;
    return state;
  }

  private countedOutput(): number {
    const byText = Math.ceil(this.deltaMeasure) + this.deltaRoundedSum;
    return this.provider === 'openai' ? Math.max(byText, this.deltaChunks) : byText;
  }

  private fail(body: unknown): void {
    this.hasError = true;
    this.providerError = body;
    this.complete = false;
  }

  private addText(text: unknown): void {
    if (typeof text !== 'string' || text.length === 0) return;
    const counter =
      this.counter ??
      (this.provider === 'anthropic' ? anthropicTokenEstimator : openaiEstimatorFor(this.model));
    if (counter.measure) this.deltaMeasure += counter.measure(text);
    else this.deltaRoundedSum += counter.count(text);
  }

  private onAnthropic(event: string | undefined, json: unknown): void {
    if (!isBag(json)) return;
    const type = event ?? (typeof json.type === 'string' ? json.type : undefined);
    if (type === 'error' || json.type === 'error') {
      this.fail(json);
      return;
    }
    if (type === 'message_start' && isBag(json.message)) {
      const message = json.message;
      if (typeof message.model === 'string') this.model = message.model;
      if (isBag(message.usage))
        this.usage = anthropicUsage(message.usage, this.options) ?? this.usage;
    } else if (type === 'message_delta' && isBag(json.usage)) {
      // Cumulative figures: output always, the input fields when the API repeats them.
      this.usage = anthropicUsage(json.usage, this.options, this.usage) ?? this.usage;
    } else if (type === 'content_block_delta' && isBag(json.delta)) {
      const delta = json.delta;
      this.addText(delta.text ?? delta.partial_json ?? delta.thinking);
    } else if (type === 'message_stop' && !this.hasError) {
      this.complete = true;
    }
  }

  private onOpenai(json: unknown): void {
    if (!isBag(json)) return;
    if (json.error !== undefined && json.error !== null) {
      this.fail(json);
      return;
    }
    if (typeof json.model === 'string') this.model = json.model;
    if (isBag(json.usage)) this.usage = openaiUsage(json.usage) ?? this.usage;
    if (!Array.isArray(json.choices)) return;
    for (const choice of json.choices) {
      if (!isBag(choice) || !isBag(choice.delta)) continue;
      const delta = choice.delta;
      const before = this.deltaMeasure + this.deltaRoundedSum;
      this.addText(delta.content);
      this.addText(delta.refusal);
      this.addText(delta.reasoning_content);
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) {
          if (!isBag(call) || !isBag(call.function)) continue;
          this.addText(call.function.name);
          this.addText(call.function.arguments);
        }
      }
      if (this.deltaMeasure + this.deltaRoundedSum > before) this.deltaChunks++;
    }
  }
}
