import type { Random } from './rng.js';

/**
 * Faults the simulator can inject. Error faults answer at once, before rate-limit admission,
 * and charge nothing; `connection_reset` drops the socket before any response byte and charges
 * nothing; `reset_mid_stream`, `error_mid_stream`, `error_at_stream_start`,
 * `close_at_stream_start`, `slow_first_byte` and `slow_first_event` affect an admitted (charged)
 * request.
 */
export type FaultKind =
  /** 429 as if another client of the organisation had used the quota (`retry-after` 1 s). */
  | 'rate_limit'
  /** Anthropic 529 `overloaded_error` (`x-should-retry: true`); OpenAI 503 "engine overloaded". */
  | 'overloaded'
  /** 500: Anthropic `api_error`, OpenAI `server_error`. */
  | 'server_error'
  /** 502 bad gateway. */
  | 'bad_gateway'
  /** 503 service unavailable. */
  | 'service_unavailable'
  /** The socket is destroyed before any response byte (the SDK sees a connection error). */
  | 'connection_reset'
  /** Response headers and part of the body are sent, then the socket is destroyed. */
  | 'reset_mid_stream'
  /**
   * A stream sends half its deltas, then the provider's error event (Anthropic `overloaded_error`,
   * OpenAI a `server_error` chunk) and ends cleanly; a JSON request gets the `overloaded` error
   * after the generation time.
   */
  | 'error_mid_stream'
  /**
   * A stream's first event is the provider's error event (Anthropic `overloaded_error`, OpenAI a
   * `server_error` chunk), right after the 200, and the response ends cleanly; a JSON request gets
   * the `overloaded` error at once. Nothing is generated.
   */
  | 'error_at_stream_start'
  /** The 200's headers are sent, then the connection is closed before any body byte. */
  | 'close_at_stream_start'
  /** The response starts only after `slowFirstByteMs`. */
  | 'slow_first_byte'
  /**
   * A stream's headers are sent at once, its first event only after `slowFirstByteMs`; a JSON
   * answer starts after it, as with `slow_first_byte`.
   */
  | 'slow_first_event'
  /** OpenAI 429 `insufficient_quota`; Anthropic 400 "credit balance is too low". */
  | 'insufficient_quota'
  /** Anthropic 402 `billing_error`; OpenAI 429 `billing_not_active`. */
  | 'billing'
  /** 401 `authentication_error` / `invalid_api_key`. */
  | 'authentication'
  /** 400 `invalid_request_error`. */
  | 'invalid_request'
  /**
   * The tier's monthly spend cap is reached: from this request on, every request gets a 429
   * until 00:00 UTC on the first of the next month (simulator clock). Anthropic:
   * `rate_limit_error` with `details.error_code: 'enforced_spend_limit_reached'` and no
   * `retry-after`; OpenAI: `insufficient_quota`. Charges nothing.
   */
  | 'spend_cap';

export const FAULT_KINDS: readonly FaultKind[] = [
  'rate_limit',
  'overloaded',
  'server_error',
  'bad_gateway',
  'service_unavailable',
  'connection_reset',
  'reset_mid_stream',
  'error_mid_stream',
  'error_at_stream_start',
  'close_at_stream_start',
  'slow_first_byte',
  'slow_first_event',
  'insufficient_quota',
  'billing',
  'authentication',
  'invalid_request',
  'spend_cap',
];

/** One scripted response: the next request that reaches the model gets exactly this. */
export type ScriptStep =
  /** Normal handling (limits apply) with no random fault. */
  | { readonly kind: 'ok' }
  /** A 429; `retryAfterSeconds` (default 1) is sent as `retry-after`. */
  | { readonly kind: 'rate_limit'; readonly retryAfterSeconds?: number }
  /** A slow first byte; `delayMs` defaults to the simulator's `slowFirstByteMs`. */
  | { readonly kind: 'slow_first_byte'; readonly delayMs?: number }
  /** A stream's first event late; `delayMs` defaults to the simulator's `slowFirstByteMs`. */
  | { readonly kind: 'slow_first_event'; readonly delayMs?: number }
  | { readonly kind: Exclude<FaultKind, 'rate_limit' | 'slow_first_byte' | 'slow_first_event'> };

export interface FaultOptions {
  /**
   * Probability per request of each fault, drawn from the seeded generator. The rates must sum
   * to at most 1.
   * @default {} (no random faults)
   */
  readonly rates?: Readonly<Partial<Record<FaultKind, number>>>;
  /**
   * Responses for the next requests, in order, before random faults apply again; e.g.
   * `[{ kind: 'rate_limit', retryAfterSeconds: 1 }, { kind: 'ok' }]`.
   * @default []
   */
  readonly script?: readonly ScriptStep[];
  /**
   * Delay before the first response byte of a `slow_first_byte` fault (the first event of a
   * `slow_first_event` one), in ms. @default 10_000
   */
  readonly slowFirstByteMs?: number;
}

/** What happens to one request. */
export type FaultDecision =
  | { readonly kind: 'none'; readonly scripted: boolean }
  | { readonly kind: 'rate_limit'; readonly retryAfterSeconds: number }
  | { readonly kind: 'slow_first_byte' | 'slow_first_event'; readonly delayMs: number }
  | { readonly kind: Exclude<FaultKind, 'rate_limit' | 'slow_first_byte' | 'slow_first_event'> };

/** Picks the fault of each request: the script first, then one seeded draw against the rates. */
export class FaultPlan {
  private readonly script: ScriptStep[];
  private readonly rates: readonly (readonly [FaultKind, number])[];

  constructor(
    options: FaultOptions,
    private readonly random: Random,
    private readonly slowFirstByteMs: number,
  ) {
    this.script = [...(options.script ?? [])];
    this.rates = FAULT_KINDS.map((kind) => [kind, options.rates?.[kind] ?? 0] as const).filter(
      ([, rate]) => rate > 0,
    );
  }

  /** Steps of the script not yet used. */
  get scriptRemaining(): number {
    return this.script.length;
  }

  /** Appends steps to the script (for tests that script as they go). */
  push(...steps: readonly ScriptStep[]): void {
    this.script.push(...steps);
  }

  next(): FaultDecision {
    const step = this.script.shift();
    if (step) return this.fromStep(step);
    if (this.rates.length === 0) return { kind: 'none', scripted: false };
    let draw = this.random();
    for (const [kind, rate] of this.rates) {
      if (draw < rate) return this.fromStep({ kind } as ScriptStep);
      draw -= rate;
    }
    return { kind: 'none', scripted: false };
  }

  private fromStep(step: ScriptStep): FaultDecision {
    switch (step.kind) {
      case 'ok':
        return { kind: 'none', scripted: true };
      case 'rate_limit':
        return { kind: 'rate_limit', retryAfterSeconds: step.retryAfterSeconds ?? 1 };
      case 'slow_first_byte':
      case 'slow_first_event':
        return { kind: step.kind, delayMs: step.delayMs ?? this.slowFirstByteMs };
      default:
        return { kind: step.kind };
    }
  }
}
