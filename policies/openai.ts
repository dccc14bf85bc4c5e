/**
 * OpenAI limits per model: RPM / TPM (input + `max_tokens`, charged when the request starts) and
 * the Batch API queue, per organisation and project. OpenAI meters each model on its own, so each
 * model is its own class; one line below lists the models whose pages show the same numbers.
 * Figures and tags from ../shared/PROVIDERS.md §2.2 (sources S12, S13, S14 there).
 */
import { type RowMeta, rowsOf } from './rows.js';
import type { OpenAIPreset } from './types.js';

const rows = rowsOf<OpenAIPreset>();

const modelPage = (model: string) => `https://developers.openai.com/api/docs/models/${model}`;
const longContextPage = (modelClass: string) => modelPage(modelClass.replace(/-long-context$/, ''));

/**
 * Tier 1–5, in force until 2026-10-05. The model pages read are copies taken 2026-08-23 to
 * 2026-10-05; the dated ones are named per line, the others are undated copies from the same set.
 */
const TIER_1_5: RowMeta<OpenAIPreset> = {
  provider: 'openai',
  scheme: 'tier1-5',
  outputTokens: 'max_tokens',
  confidence: 'doc',
  source: modelPage,
  asOf: '2026-09-24',
};

const UNDATED = 'the copy of this page read is undated; its set holds dated copies of 2026-09-24';

export const openaiPresets = Object.freeze([
  // ---- Tier 1–5 ----
  // Dated copies: gpt-6-astra 2026-09-24, gpt-6-sol 2026-09-22, gpt-5.6-sol 2026-08-23.
  ...rows(TIER_1_5, ['gpt-5.2-codex', 'gpt-5.5', 'gpt-5.6-sol', 'gpt-6-sol', 'gpt-6-astra'], {
    'tier-1': { rpm: 500, tpm: 500_000, batchQueueTokens: 1_500_000 },
    'tier-2': { rpm: 5_000, tpm: 1_000_000, batchQueueTokens: 3_000_000 },
    'tier-3': { rpm: 5_000, tpm: 2_000_000, batchQueueTokens: 100_000_000 },
    'tier-4': { rpm: 10_000, tpm: 4_000_000, batchQueueTokens: 200_000_000 },
    'tier-5': { rpm: 15_000, tpm: 40_000_000, batchQueueTokens: 15_000_000_000 },
  }),
  ...rows(
    { ...TIER_1_5, note: `requests over 272K input tokens; ${UNDATED}`, source: longContextPage },
    ['gpt-5.5-long-context'],
    {
      'tier-1': { rpm: 200, tpm: 400_000, batchQueueTokens: 5_000_000 },
      'tier-2': { rpm: 500, tpm: 1_000_000, batchQueueTokens: 40_000_000 },
      'tier-3': { rpm: 1_000, tpm: 2_000_000, batchQueueTokens: 80_000_000 },
      'tier-4': { rpm: 2_000, tpm: 10_000_000, batchQueueTokens: 200_000_000 },
      'tier-5': { rpm: 8_000, tpm: 20_000_000, batchQueueTokens: 2_000_000_000 },
    },
  ),
  // Dated copy: gpt-6-luna 2026-10-05.
  ...rows(
    { ...TIER_1_5, asOf: '2026-10-05' },
    ['gpt-5-mini', 'gpt-5.4-mini', 'gpt-5.1-codex-mini', 'gpt-5.6-luna', 'gpt-6-luna'],
    {
      'tier-1': { rpm: 500, tpm: 500_000, batchQueueTokens: 5_000_000 },
      'tier-2': { rpm: 5_000, tpm: 2_000_000, batchQueueTokens: 20_000_000 },
      'tier-3': { rpm: 5_000, tpm: 4_000_000, batchQueueTokens: 40_000_000 },
      'tier-4': { rpm: 10_000, tpm: 10_000_000, batchQueueTokens: 1_000_000_000 },
      'tier-5': { rpm: 30_000, tpm: 180_000_000, batchQueueTokens: 15_000_000_000 },
    },
  ),
  ...rows({ ...TIER_1_5, note: UNDATED }, ['gpt-5-nano'], {
    'tier-1': { rpm: 500, tpm: 200_000, batchQueueTokens: 2_000_000 },
    'tier-2': { rpm: 5_000, tpm: 2_000_000, batchQueueTokens: 20_000_000 },
    'tier-3': { rpm: 5_000, tpm: 4_000_000, batchQueueTokens: 40_000_000 },
    'tier-4': { rpm: 10_000, tpm: 10_000_000, batchQueueTokens: 1_000_000_000 },
    'tier-5': { rpm: 30_000, tpm: 180_000_000, batchQueueTokens: 15_000_000_000 },
  }),
  // Dated copy: gpt-4o 2026-09-24.
  ...rows(
    TIER_1_5,
    ['gpt-4.1', 'gpt-4o', 'chatgpt-4o-latest', 'gpt-5-pro', 'gpt-5.2-pro', 'o3-pro', 'o1-pro'],
    {
      'tier-1': { rpm: 500, tpm: 30_000, batchQueueTokens: 90_000 },
      'tier-2': { rpm: 5_000, tpm: 450_000, batchQueueTokens: 1_350_000 },
      'tier-3': { rpm: 5_000, tpm: 800_000, batchQueueTokens: 50_000_000 },
      'tier-4': { rpm: 10_000, tpm: 2_000_000, batchQueueTokens: 200_000_000 },
      'tier-5': { rpm: 10_000, tpm: 30_000_000, batchQueueTokens: 5_000_000_000 },
    },
  ),
  ...rows(
    { ...TIER_1_5, note: `requests over 128K input tokens; ${UNDATED}`, source: longContextPage },
    ['gpt-4.1-long-context', 'gpt-5.2-pro-long-context'],
    {
      'tier-1': { rpm: 100, tpm: 200_000, batchQueueTokens: 2_000_000 },
      'tier-2': { rpm: 250, tpm: 500_000, batchQueueTokens: 20_000_000 },
      'tier-3': { rpm: 500, tpm: 1_000_000, batchQueueTokens: 40_000_000 },
      'tier-4': { rpm: 1_000, tpm: 5_000_000, batchQueueTokens: 100_000_000 },
      'tier-5': { rpm: 4_000, tpm: 10_000_000, batchQueueTokens: 1_000_000_000 },
    },
  ),
  // Dated copy: gpt-4o-mini 2026-09-24. Tier 1 also caps requests per day.
  ...rows(TIER_1_5, ['gpt-4o-mini'], {
    'tier-1': { rpm: 500, rpd: 10_000, tpm: 200_000, batchQueueTokens: 2_000_000 },
    'tier-2': { rpm: 5_000, tpm: 2_000_000, batchQueueTokens: 20_000_000 },
    'tier-3': { rpm: 5_000, tpm: 4_000_000, batchQueueTokens: 40_000_000 },
    'tier-4': { rpm: 10_000, tpm: 10_000_000, batchQueueTokens: 1_000_000_000 },
    'tier-5': { rpm: 30_000, tpm: 150_000_000, batchQueueTokens: 15_000_000_000 },
  }),
  ...rows({ ...TIER_1_5, note: UNDATED }, ['o4-mini'], {
    'tier-1': { rpm: 1_000, tpm: 100_000, batchQueueTokens: 1_000_000 },
    'tier-2': { rpm: 2_000, tpm: 2_000_000, batchQueueTokens: 2_000_000 },
    'tier-3': { rpm: 5_000, tpm: 4_000_000, batchQueueTokens: 40_000_000 },
    'tier-4': { rpm: 10_000, tpm: 10_000_000, batchQueueTokens: 1_000_000_000 },
    'tier-5': { rpm: 30_000, tpm: 150_000_000, batchQueueTokens: 15_000_000_000 },
  }),
  ...rows({ ...TIER_1_5, note: UNDATED }, ['o3-mini', 'codex-mini-latest'], {
    'tier-1': { rpm: 1_000, tpm: 100_000, batchQueueTokens: 1_000_000 },
    'tier-2': { rpm: 2_000, tpm: 200_000, batchQueueTokens: 2_000_000 },
    'tier-3': { rpm: 5_000, tpm: 4_000_000, batchQueueTokens: 40_000_000 },
    'tier-4': { rpm: 10_000, tpm: 10_000_000, batchQueueTokens: 1_000_000_000 },
    'tier-5': { rpm: 30_000, tpm: 150_000_000, batchQueueTokens: 15_000_000_000 },
  }),

  // ---- Build / Launch / Grow, from 2026-10-06: published for the GPT-6 models only ----
  ...rows(
    {
      provider: 'openai',
      scheme: 'build-launch-grow',
      outputTokens: 'max_tokens',
      confidence: '3p',
      source: modelPage,
      asOf: '2026-10-08',
      note: 'quoted from the model pages by three third-party project notes (read 2026-10-08/09); no copy of the pages was found; standard pool (the Ultrafast pool has its own TPM)',
    },
    ['gpt-6-astra', 'gpt-6-sol', 'gpt-6.1-sol'],
    {
      build: { rpm: 5_000, tpm: 1_000_000 },
      launch: { rpm: 10_000, tpm: 4_000_000 },
      grow: { rpm: 15_000, tpm: 40_000_000 },
    },
  ),
]);
