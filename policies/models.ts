/**
 * Model name -> model class, as the providers meter them: one class is one budget. Anthropic
 * pools versions (Sonnet 4.5 and 4.6 share "Sonnet 4.x"); OpenAI and Gemini meter each model on
 * its own, and a dated snapshot (`gpt-4o-mini-2024-07-18`) counts against its model.
 */
import type { PresetProvider } from './types.js';

export interface ModelClassInfo {
  readonly provider: PresetProvider;
  readonly modelClass: string;
  /** Real model names that belong to the class (none for pools chosen by request size). */
  readonly examples: readonly string[];
  readonly note?: string;
}

/** Anthropic classes: a family and the versions it pools ('4.x': every 4.y; '5': 5.0 only). */
const ANTHROPIC: readonly (ModelClassInfo & { family: string; versions: string })[] = [
  claude('fable-5.x', 'fable', '5.x', ['claude-fable-5', 'claude-fable-5-1']),
  claude('mythos-5.x', 'mythos', '5.x', [], 'its own pool; no published numbers'),
  claude('opus-5.5', 'opus', '5.5', ['claude-opus-5-5']),
  claude('opus-5', 'opus', '5', ['claude-opus-5']),
  claude('opus-4.x', 'opus', '4.x', [
    'claude-opus-4-8',
    'claude-opus-4-5-20251101',
    'claude-opus-4-1-20250805',
    'claude-opus-4-20250514',
  ]),
  claude('sonnet-5.5', 'sonnet', '5.5', ['claude-sonnet-5-5']),
  claude('sonnet-5', 'sonnet', '5', ['claude-sonnet-5']),
  claude('sonnet-4.x', 'sonnet', '4.x', [
    'claude-sonnet-4-6',
    'claude-sonnet-4-5-20250929',
    'claude-sonnet-4-5',
    'claude-sonnet-4-20250514',
  ]),
  claude('haiku-5.5', 'haiku', '5.5', ['claude-haiku-5-5'], 'no published numbers yet'),
  claude('haiku-4.5', 'haiku', '4.5', ['claude-haiku-4-5', 'claude-haiku-4-5-20251001']),
  claude('sonnet-3.7', 'sonnet', '3.7', ['claude-3-7-sonnet-20250219', 'claude-3-7-sonnet-latest']),
  claude('haiku-3.5', 'haiku', '3.5', ['claude-3-5-haiku-20241022', 'claude-3-5-haiku-latest']),
  claude('haiku-3', 'haiku', '3', ['claude-3-haiku-20240307']),
  claude('opus-3', 'opus', '3', ['claude-3-opus-20240229']),
];

/** OpenAI and Gemini: one class per model; `aliases` are other names the provider routes to it. */
const PER_MODEL: readonly (ModelClassInfo & { aliases?: readonly string[] })[] = [
  ...[
    'gpt-5.2-codex',
    'gpt-5.5',
    'gpt-6-sol',
    'gpt-6.1-sol',
    'gpt-6-astra',
    'gpt-5-mini',
    'gpt-5.4-mini',
    'gpt-5.1-codex-mini',
    'gpt-5.6-luna',
    'gpt-6-luna',
    'gpt-5-nano',
    'gpt-4.1',
    'gpt-4o',
    'chatgpt-4o-latest',
    'gpt-5-pro',
    'gpt-5.2-pro',
    'o3-pro',
    'o1-pro',
    'gpt-4o-mini',
    'o4-mini',
    'o3-mini',
    'codex-mini-latest',
  ].map((model) => perModel('openai', model)),
  // The model page: "The `gpt-5.6` alias routes requests to GPT-5.6 Sol."
  { ...perModel('openai', 'gpt-5.6-sol'), aliases: ['gpt-5.6'] },
  ...['gpt-5.5', 'gpt-4.1', 'gpt-5.2-pro'].map((model) => ({
    provider: 'openai' as const,
    modelClass: `${model}-long-context`,
    examples: [],
    note: `the separate pool for long-context requests to ${model}: choose it by modelClass`,
  })),
  ...['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.5-flash-lite', 'gemini-3-pro'].map((model) =>
    perModel('gemini', model),
  ),
  // The dashboard lists the preview model under this name.
  { ...perModel('gemini', 'gemini-3-flash'), aliases: ['gemini-3-flash-preview'] },
];

/** Every known model class, with example model names. */
export const modelClasses: readonly ModelClassInfo[] = Object.freeze(
  [...ANTHROPIC, ...PER_MODEL].map(({ provider, modelClass, examples, note }) =>
    Object.freeze({ provider, modelClass, examples, ...(note === undefined ? {} : { note }) }),
  ),
);

/**
 * The model class a model name is metered under, or undefined when the name is not one this
 * package knows (pass explicit limits then). A class name itself maps to itself.
 *
 * @example modelClassOf('anthropic', 'claude-sonnet-4-5-20250929') // 'sonnet-4.x'
 * @example modelClassOf('openai', 'gpt-4o-mini-2024-07-18')        // 'gpt-4o-mini'
 */
export function modelClassOf(provider: PresetProvider, model: string): string | undefined {
  if (typeof model !== 'string') return undefined;
  const name = model.trim().toLowerCase();
  if (modelClasses.some((c) => c.provider === provider && c.modelClass === name)) return name;
  if (provider === 'anthropic') return anthropicClass(name);
  const base = provider === 'openai' ? openaiBase(name) : geminiBase(name);
  return PER_MODEL.find(
    (c) =>
      c.provider === provider &&
      c.examples.length > 0 &&
      (c.modelClass === base || c.aliases?.includes(base) === true),
  )?.modelClass;
}

function anthropicClass(name: string): string | undefined {
  // Drop a routing prefix, a snapshot date (-20250929, Vertex's @20250929) or -latest.
  const bare = name.replace(/^anthropic\//, '').replace(/(?:[-@]\d{8}|-latest)$/, '');
  // claude-sonnet-4-5 (2025 on) or claude-3-5-haiku (before); "4.5" also accepted for "4-5".
  const modern = /^claude-([a-z]+)-(\d+)(?:[-.](\d{1,2}))?$/.exec(bare);
  const legacy = /^claude-(\d+)(?:[-.](\d{1,2}))?-([a-z]+)$/.exec(bare);
  const [family, major, minor] = modern
    ? [modern[1], modern[2], modern[3]]
    : legacy
      ? [legacy[3], legacy[1], legacy[2]]
      : [];
  if (family === undefined || major === undefined) return undefined;
  const version = `${Number(major)}.${Number(minor ?? 0)}`;
  return ANTHROPIC.find(
    (c) =>
      c.family === family &&
      (c.versions.endsWith('.x')
        ? version.startsWith(c.versions.slice(0, -1))
        : version === (c.versions.includes('.') ? c.versions : `${c.versions}.0`)),
  )?.modelClass;
}

/** gpt-4o-mini-2024-07-18 -> gpt-4o-mini; gpt-4-0613 -> gpt-4. */
function openaiBase(name: string): string {
  return name.replace(/^openai\//, '').replace(/-(?:\d{4}-\d{2}-\d{2}|\d{4})$/, '');
}

/** models/gemini-2.5-flash-001 -> gemini-2.5-flash. */
function geminiBase(name: string): string {
  return name.replace(/^models\//, '').replace(/-\d{3}$/, '');
}

function claude(
  modelClass: string,
  family: string,
  versions: string,
  examples: readonly string[],
  note?: string,
): ModelClassInfo & { family: string; versions: string } {
  return {
    provider: 'anthropic',
    modelClass,
    examples,
    family,
    versions,
    ...(note === undefined ? {} : { note }),
  };
}

function perModel(provider: PresetProvider, model: string): ModelClassInfo {
  return { provider, modelClass: model, examples: [model] };
}
