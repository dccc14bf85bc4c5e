/**
 * The shape of a tier preset: one row per (provider, scheme, tier, model class), as plain data
 * with its source and date. Providers change their tiers (all three did in 2026), so a row is a
 * dated record, not a constant: `asOf` says when the source showed these numbers.
 */

export type PresetProvider = 'anthropic' | 'openai' | 'gemini';

/** Anthropic's schemes: Start/Build/Scale from 2026-06-26; Tier 1–4 before. */
export type AnthropicScheme = 'start-build-scale' | 'tier1-4';
/** OpenAI's schemes: Tier 1–5 until 2026-10-05; Build/Launch/Grow from 2026-10-06. */
export type OpenAIScheme = 'tier1-5' | 'build-launch-grow';
/** Gemini's scheme: Free and Tier 1–3 (per-model numbers are only dated snapshots). */
export type GeminiScheme = 'free-tier1-3';
export type PresetScheme = AnthropicScheme | OpenAIScheme | GeminiScheme;

export type AnthropicTier = 'start' | 'build' | 'scale' | 'tier-1' | 'tier-2' | 'tier-3' | 'tier-4';
export type OpenAITier =
  | 'tier-1'
  | 'tier-2'
  | 'tier-3'
  | 'tier-4'
  | 'tier-5'
  | 'build'
  | 'launch'
  | 'grow';
export type GeminiTier = 'free' | 'tier-1' | 'tier-2' | 'tier-3';
export type PresetTier = AnthropicTier | OpenAITier | GeminiTier;

/**
 * How sure the figure is, as ../shared/PROVIDERS.md tags it:
 * - `doc`: the provider's own documentation (or a verbatim copy of it);
 * - `obs`: seen in a real account (a dashboard or a recorded response);
 * - `3p`: a third-party summary of the provider's page; a lead, not a fact;
 * - `inf`: inferred from other rows; needs confirming.
 */
export type PresetConfidence = 'doc' | 'obs' | '3p' | 'inf';

/**
 * How the provider counts output tokens toward its limit:
 * - `max_tokens`: the request's `max_tokens` is charged when it starts and the unused part is
 *   credited at the end (OpenAI TPM; Anthropic OTPM until 2025);
 * - `generated`: only the tokens actually generated count, as they are produced (Anthropic OTPM
 *   since 2026);
 * - `none`: output tokens are not metered per minute (Gemini's TPM counts input only).
 */
export type OutputTokenCounting = 'max_tokens' | 'generated' | 'none';

/** Every dimension a row may carry. Per-minute unless the name says day; all integers. */
export interface PresetLimits {
  /** Requests per minute. */
  readonly rpm?: number;
  /** Input tokens per minute (Anthropic ITPM; Gemini's "TPM", which counts input only). */
  readonly itpm?: number;
  /** Output tokens per minute (Anthropic OTPM). */
  readonly otpm?: number;
  /** Input + output tokens per minute (OpenAI TPM). */
  readonly tpm?: number;
  /** Requests per day. */
  readonly rpd?: number;
  /** Tokens per day. */
  readonly tpd?: number;
  /** OpenAI Batch API: input tokens that may wait in the batch queue at once (not a rate). */
  readonly batchQueueTokens?: number;
}

interface PresetRowBase {
  /** The tier's model class: one class is one budget, as the provider meters it. */
  readonly modelClass: string;
  readonly outputTokens: OutputTokenCounting;
  /** ITPM also counts `cache_read_input_tokens` (Anthropic's † rows). Absent means no. */
  readonly countsCacheReads?: boolean;
  readonly confidence: PresetConfidence;
  /** The page the numbers come from (the provider's own URL where there is one). */
  readonly source: string;
  /** A dated copy of `source` that shows these numbers, where the live page has since changed. */
  readonly archive?: string;
  /** YYYY-MM-DD: the date the source shows for these numbers. */
  readonly asOf: string;
  readonly note?: string;
}

export interface AnthropicPreset extends PresetRowBase {
  readonly provider: 'anthropic';
  readonly scheme: AnthropicScheme;
  readonly tier: AnthropicTier;
  readonly limits: PresetLimits & {
    readonly rpm: number;
    readonly itpm: number;
    readonly otpm: number;
  };
}

export interface OpenAIPreset extends PresetRowBase {
  readonly provider: 'openai';
  readonly scheme: OpenAIScheme;
  readonly tier: OpenAITier;
  readonly limits: PresetLimits & { readonly rpm: number; readonly tpm: number };
}

export interface GeminiPreset extends PresetRowBase {
  readonly provider: 'gemini';
  readonly scheme: GeminiScheme;
  readonly tier: GeminiTier;
  readonly limits: PresetLimits & { readonly rpm: number; readonly itpm: number };
  /** Gemini no longer publishes per-model limits (AI Studio shows your own): a dated copy. */
  readonly snapshot: true;
}

/** One row of the preset tables. */
export type TierPreset = AnthropicPreset | OpenAIPreset | GeminiPreset;

/** A tier scheme of one provider and the tiers it names. */
export interface PresetSchemeInfo {
  readonly provider: PresetProvider;
  readonly scheme: PresetScheme;
  readonly tiers: readonly PresetTier[];
  /** YYYY-MM-DD the scheme took effect, where known. */
  readonly from?: string;
  /** YYYY-MM-DD of its last day, for a scheme since replaced. */
  readonly until?: string;
}
