/**
 * Anthropic Messages API limits per model class: RPM / ITPM / OTPM, per organisation.
 * Figures and tags from ../shared/PROVIDERS.md §1.2–1.3 (sources S2, S3, S4, S25 there).
 */
import { type RowMeta, rowsOf } from './rows.js';
import type { AnthropicPreset } from './types.js';

const rows = rowsOf<AnthropicPreset>();

const RATE_LIMITS_PAGE = 'https://platform.claude.com/docs/en/api/rate-limits';

/** Start / Build / Scale, in force since 2026-06-26. OTPM counts generated tokens only. */
const START_BUILD_SCALE: RowMeta<AnthropicPreset> = {
  provider: 'anthropic',
  scheme: 'start-build-scale',
  outputTokens: 'generated',
  confidence: 'doc',
  source: RATE_LIMITS_PAGE,
  // The copy of the page read is undated; it lists Opus 5, released 2026-07-24.
  asOf: '2026-07-24',
};

/** Tier 1–4 as the page stood on 2025-11-08, when OTPM still charged `max_tokens` up front. */
const TIER_1_4: RowMeta<AnthropicPreset> = {
  provider: 'anthropic',
  scheme: 'tier1-4',
  outputTokens: 'max_tokens',
  confidence: 'doc',
  source: 'https://docs.claude.com/en/api/rate-limits',
  archive:
    'https://github.com/patrickcarmichael/claude-docs/blob/a9add26/docs/ai-platforms/anthropic/formatted/1437-rate-limits.md',
  asOf: '2025-11-08',
};

/** † rows: ITPM also counts `cache_read_input_tokens`. */
const CACHE_READS_COUNT = { countsCacheReads: true } as const;

const OCTOBER_2026_ADDITIONS = {
  ...START_BUILD_SCALE,
  asOf: '2026-10-17',
} satisfies RowMeta<AnthropicPreset>;

export const anthropicPresets = Object.freeze([
  // ---- Start / Build / Scale ----
  ...rows(
    { ...START_BUILD_SCALE, note: 'Fable 5.1 and 5 share this budget (Mythos 5.x has its own)' },
    ['fable-5.x'],
    {
      start: { rpm: 1_000, itpm: 500_000, otpm: 100_000 },
      build: { rpm: 2_000, itpm: 1_500_000, otpm: 300_000 },
      scale: { rpm: 4_000, itpm: 4_000_000, otpm: 800_000 },
    },
  ),
  // One line of the page, five budgets: each class is metered on its own.
  ...rows(START_BUILD_SCALE, ['opus-5', 'opus-4.x', 'sonnet-5', 'sonnet-4.x', 'haiku-4.5'], {
    start: { rpm: 1_000, itpm: 2_000_000, otpm: 400_000 },
    build: { rpm: 5_000, itpm: 5_000_000, otpm: 1_000_000 },
    scale: { rpm: 10_000, itpm: 10_000_000, otpm: 2_000_000 },
  }),
  ...rows(
    {
      ...START_BUILD_SCALE,
      ...CACHE_READS_COUNT,
      note: 'retired on the Claude API; still served on Bedrock and Google Cloud',
    },
    ['haiku-3.5'],
    {
      start: { rpm: 1_000, itpm: 100_000, otpm: 20_000 },
      build: { rpm: 2_000, itpm: 200_000, otpm: 40_000 },
      scale: { rpm: 4_000, itpm: 400_000, otpm: 80_000 },
    },
  ),
  ...rows(
    {
      ...OCTOBER_2026_ADDITIONS,
      confidence: '3p',
      note: 'quoted from the rate-limits page by two third-party project notes; no copy of the page was found',
    },
    ['opus-5.5', 'sonnet-5.5'],
    { start: { rpm: 1_000, itpm: 2_000_000, otpm: 400_000 } },
  ),
  ...rows(
    {
      ...OCTOBER_2026_ADDITIONS,
      confidence: 'inf',
      note: 'no published Build/Scale row found; inferred from "Sonnet and Haiku aligned with Opus" and the Opus 5 row',
    },
    ['opus-5.5', 'sonnet-5.5'],
    {
      build: { rpm: 5_000, itpm: 5_000_000, otpm: 1_000_000 },
      scale: { rpm: 10_000, itpm: 10_000_000, otpm: 2_000_000 },
    },
  ),

  // ---- Tier 1–4 (legacy) ----
  ...rows(TIER_1_4, ['opus-4.x', 'sonnet-4.x'], {
    'tier-1': { rpm: 50, itpm: 30_000, otpm: 8_000 },
    'tier-2': { rpm: 1_000, itpm: 450_000, otpm: 90_000 },
    'tier-3': { rpm: 2_000, itpm: 800_000, otpm: 160_000 },
    'tier-4': { rpm: 4_000, itpm: 2_000_000, otpm: 400_000 },
  }),
  ...rows(TIER_1_4, ['haiku-4.5'], {
    'tier-1': { rpm: 50, itpm: 50_000, otpm: 10_000 },
    'tier-2': { rpm: 1_000, itpm: 450_000, otpm: 90_000 },
    'tier-3': { rpm: 2_000, itpm: 1_000_000, otpm: 200_000 },
    'tier-4': { rpm: 4_000, itpm: 4_000_000, otpm: 800_000 },
  }),
  ...rows({ ...TIER_1_4, note: 'deprecated' }, ['sonnet-3.7'], {
    'tier-1': { rpm: 50, itpm: 20_000, otpm: 8_000 },
    'tier-2': { rpm: 1_000, itpm: 40_000, otpm: 16_000 },
    'tier-3': { rpm: 2_000, itpm: 80_000, otpm: 32_000 },
    'tier-4': { rpm: 4_000, itpm: 200_000, otpm: 80_000 },
  }),
  ...rows({ ...TIER_1_4, ...CACHE_READS_COUNT }, ['haiku-3.5', 'haiku-3'], {
    'tier-1': { rpm: 50, itpm: 50_000, otpm: 10_000 },
    'tier-2': { rpm: 1_000, itpm: 100_000, otpm: 20_000 },
    'tier-3': { rpm: 2_000, itpm: 200_000, otpm: 40_000 },
    'tier-4': { rpm: 4_000, itpm: 400_000, otpm: 80_000 },
  }),
  ...rows({ ...TIER_1_4, ...CACHE_READS_COUNT, note: 'deprecated' }, ['opus-3'], {
    'tier-1': { rpm: 50, itpm: 20_000, otpm: 4_000 },
    'tier-2': { rpm: 1_000, itpm: 40_000, otpm: 8_000 },
    'tier-3': { rpm: 2_000, itpm: 80_000, otpm: 16_000 },
    'tier-4': { rpm: 4_000, itpm: 400_000, otpm: 80_000 },
  }),
]);
