import { InvalidConfigError } from '../src/errors/invalid-config-error.js';
import { anthropicPresets } from './anthropic.js';
import { geminiPresets } from './gemini.js';
import { modelClasses, modelClassOf } from './models.js';
import { nearest } from './nearest.js';
import { openaiPresets } from './openai.js';
import { isPresetProvider, presetProviders, presetSchemes, schemeOfTier } from './schemes.js';
import type {
  AnthropicPreset,
  AnthropicScheme,
  AnthropicTier,
  GeminiPreset,
  GeminiScheme,
  GeminiTier,
  OpenAIPreset,
  OpenAIScheme,
  OpenAITier,
  PresetProvider,
  TierPreset,
} from './types.js';

interface ProviderNames {
  anthropic: { tier: AnthropicTier; scheme: AnthropicScheme };
  openai: { tier: OpenAITier; scheme: OpenAIScheme };
  gemini: { tier: GeminiTier; scheme: GeminiScheme };
}

/** What to look up. Names are checked at run time, so strings from configuration work too. */
export interface PresetQuery<P extends PresetProvider = PresetProvider> {
  provider: P;
  /** A tier name; it picks its scheme (`build` is Start/Build/Scale for Anthropic). */
  tier: ProviderNames[P]['tier'] | (string & {});
  /** A model name, mapped to its class (`claude-sonnet-4-5-20250929` -> `sonnet-4.x`). */
  model?: string;
  /** The class itself, instead of (or as well as) `model`. */
  modelClass?: string;
  /** Optional: the scheme the tier must belong to. */
  scheme?: ProviderNames[P]['scheme'] | (string & {});
}

const ROWS: Readonly<Record<PresetProvider, readonly TierPreset[]>> = {
  anthropic: anthropicPresets,
  openai: openaiPresets,
  gemini: geminiPresets,
};

/**
 * The preset row for a provider, tier and model (or model class). Throws `InvalidConfigError`
 * naming the option, the known values (with the nearest one to a typo) and the value received:
 * for an unknown provider, scheme, tier, model or class, and for a class with no row in that tier.
 */
export function findPreset(query: PresetQuery<'anthropic'>): AnthropicPreset;
export function findPreset(query: PresetQuery<'openai'>): OpenAIPreset;
export function findPreset(query: PresetQuery<'gemini'>): GeminiPreset;
export function findPreset(query: PresetQuery): TierPreset;
export function findPreset(query: PresetQuery): TierPreset {
  const { provider, tier, model, modelClass, scheme: askedScheme } = query;
  if (!isPresetProvider(provider)) {
    throw new InvalidConfigError('provider', oneOf(presetProviders, provider), provider);
  }
  const scheme = schemeOfKnownTier(provider, tier, askedScheme);
  const cls = resolveClass(provider, model, modelClass);
  const rows = ROWS[provider];
  const row = rows.find((r) => r.scheme === scheme && r.tier === tier && r.modelClass === cls);
  if (row !== undefined) return row;

  const inTier = unique(rows.filter((r) => r.tier === tier).map((r) => r.modelClass));
  const tiersOfClass = unique(rows.filter((r) => r.modelClass === cls).map((r) => r.tier));
  const expected =
    inTier.length > 0
      ? `a model class with a "${tier}" row for ${provider} (${inTier.join(', ')})`
      : `a tier with published numbers (${provider} "${tier}" has none)`;
  const where = tiersOfClass.length > 0 ? `rows in ${tiersOfClass.join(' | ')}` : 'no rows';
  const detail = `${expected}, or explicit \`limits\`; "${cls}" has ${where}`;
  // With no row at all in the tier, the tier is what to change; otherwise the model.
  if (inTier.length === 0) throw new InvalidConfigError('tier', detail, tier);
  throw new InvalidConfigError(model === undefined ? 'modelClass' : 'model', detail, model ?? cls);
}

/**
 * The scheme of a tier name for a provider (or checks it belongs to `scheme`). Throws
 * `InvalidConfigError` naming the provider's tiers, and the nearest one to a typo, for a tier the
 * provider does not have.
 */
export function schemeOfKnownTier(provider: PresetProvider, tier: string, asked?: string): string {
  const schemes = presetSchemes[provider];
  if (asked !== undefined) {
    const info = schemes.find((s) => s.scheme === asked);
    if (info === undefined) {
      throw new InvalidConfigError(
        'scheme',
        oneOf(
          schemes.map((s) => s.scheme),
          asked,
        ),
        asked,
      );
    }
    if (!(info.tiers as readonly string[]).includes(tier)) {
      throw new InvalidConfigError('tier', `a tier of ${asked}: ${oneOf(info.tiers, tier)}`, tier);
    }
    return asked;
  }
  const scheme = typeof tier === 'string' ? schemeOfTier(provider, tier) : undefined;
  if (scheme === undefined) {
    const known = schemes.map((s) => `${s.tiers.join(' | ')} (${s.scheme})`).join('; ');
    const hint =
      typeof tier === 'string'
        ? didYouMean(
            schemes.flatMap((s) => s.tiers),
            tier,
          )
        : '';
    throw new InvalidConfigError('tier', `a tier of ${provider}: ${known}${hint}`, tier);
  }
  return scheme;
}

function resolveClass(
  provider: PresetProvider,
  model: string | undefined,
  modelClass: string | undefined,
): string {
  const known = modelClasses.filter((c) => c.provider === provider);
  const names = known.map((c) => c.modelClass);
  if (modelClass !== undefined) {
    if (!names.includes(modelClass)) {
      throw new InvalidConfigError(
        'modelClass',
        `a model class of ${provider}: ${names.join(', ')}${didYouMean(names, modelClass)}`,
        modelClass,
      );
    }
    if (model !== undefined && modelClassOf(provider, model) !== modelClass) {
      throw new InvalidConfigError('model', `a model of class "${modelClass}"`, model);
    }
    return modelClass;
  }
  if (model === undefined) {
    throw new InvalidConfigError('model', 'a model name (or a `modelClass`)', model);
  }
  const cls = modelClassOf(provider, model);
  if (cls === undefined) {
    const examples = known.flatMap((c) => c.examples);
    const near = typeof model === 'string' ? nearest(model, examples) : undefined;
    const hint =
      near === undefined ? '' : `; did you mean "${near}" (${modelClassOf(provider, near)})?`;
    throw new InvalidConfigError(
      'model',
      `a model of a known ${provider} class (${names.join(', ')}), or explicit \`limits\`${hint}`,
      model,
    );
  }
  return cls;
}

function oneOf(values: readonly string[], received: unknown): string {
  const hint = typeof received === 'string' ? didYouMean(values, received) : '';
  return `one of ${values.map((v) => `"${v}"`).join(', ')}${hint}`;
}

function didYouMean(values: readonly string[], received: string): string {
  const near = nearest(received, values);
  return near === undefined ? '' : `; did you mean "${near}"?`;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
