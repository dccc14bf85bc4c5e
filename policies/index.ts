/**
 * Tier presets: each provider's published limits per tier and model class, as dated, sourced
 * data. `presets.<provider>[tier][modelClass]` is one row, typed by the rows that exist:
 *
 *     presets.anthropic.build['sonnet-4.x']      // Start/Build/Scale
 *     presets.anthropic['tier-2']['haiku-4.5']   // legacy Tier 1–4
 *     presets.openai['tier-3']['gpt-4o-mini']
 *     presets.gemini.free['gemini-2.5-flash']    // a dated snapshot
 *
 * `findPreset()` looks a row up from names (a model name maps to its class), and the flat arrays
 * list every row.
 */
import { anthropicPresets } from './anthropic.js';
import { geminiPresets } from './gemini.js';
import { openaiPresets } from './openai.js';
import { tableOf } from './rows.js';
import type { AnthropicPreset, GeminiPreset, OpenAIPreset, TierPreset } from './types.js';

export { anthropicPresets } from './anthropic.js';
export type { PresetQuery } from './find-preset.js';
export { findPreset } from './find-preset.js';
export { geminiPresets } from './gemini.js';
export type { ModelClassInfo } from './models.js';
export { modelClasses, modelClassOf } from './models.js';
export { openaiPresets } from './openai.js';
export type { PresetTable } from './rows.js';
export { presetProviders, presetSchemes, schemeOfTier } from './schemes.js';
export type * from './types.js';

/** Every row, keyed by provider, then tier, then model class. */
export const presets = Object.freeze({
  anthropic: tableOf<(typeof anthropicPresets)[number], AnthropicPreset>(anthropicPresets),
  openai: tableOf<(typeof openaiPresets)[number], OpenAIPreset>(openaiPresets),
  gemini: tableOf<(typeof geminiPresets)[number], GeminiPreset>(geminiPresets),
});

/** Every row of every provider, in file order. */
export const presetRows: readonly TierPreset[] = Object.freeze([
  ...anthropicPresets,
  ...openaiPresets,
  ...geminiPresets,
]);
