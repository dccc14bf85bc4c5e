/**
 * Gemini API limits per model: RPM / TPM / RPD, per project. Gemini's TPM counts input tokens
 * only, so it is stored as `itpm`. Google no longer publishes per-model numbers (AI Studio shows
 * each project its own), so every row here is a dated snapshot: check yours at
 * https://aistudio.google.com/rate-limit. No Tier 2 numbers were found in any source.
 * Figures and tags from ../shared/PROVIDERS.md §3.1 (sources S18, S19, S29, S30 there).
 */
import { type RowMeta, rowsOf } from './rows.js';
import type { GeminiPreset } from './types.js';

const rows = rowsOf<GeminiPreset>();

/** The rate-limits page as it stood on 2025-09-05, the last copy with per-model numbers. */
const DOCS_2025_09: RowMeta<GeminiPreset> = {
  provider: 'gemini',
  scheme: 'free-tier1-3',
  outputTokens: 'none',
  confidence: 'doc',
  source: 'https://ai.google.dev/gemini-api/docs/rate-limits',
  asOf: '2025-09-05',
  snapshot: true,
};

/**
 * The free tier was cut on 2025-12-06/07, so its 2025-09 numbers are stale; these come from one
 * free project's AI Studio dashboard after the cut.
 */
const FREE_DASHBOARD_2026_01: RowMeta<GeminiPreset> = {
  provider: 'gemini',
  scheme: 'free-tier1-3',
  outputTokens: 'none',
  confidence: 'obs',
  source:
    'https://github.com/404-Profit-Not-Found/neural-ticker-core/blob/2f218aa47455dc01aa373bc6a91a5840c23b0b21/GEMINI_MODELS.md',
  asOf: '2026-01-25',
  snapshot: true,
  note: "one free project's AI Studio dashboard",
};

export const geminiPresets = Object.freeze([
  ...rows(FREE_DASHBOARD_2026_01, ['gemini-2.5-flash', 'gemini-3-flash', 'gemini-3-pro'], {
    free: { rpm: 5, itpm: 250_000, rpd: 20 },
  }),
  ...rows(FREE_DASHBOARD_2026_01, ['gemini-2.5-flash-lite'], {
    free: { rpm: 10, itpm: 250_000, rpd: 20 },
  }),
  ...rows(DOCS_2025_09, ['gemini-2.5-pro'], {
    'tier-1': { rpm: 150, itpm: 2_000_000, rpd: 10_000 },
  }),
  ...rows(DOCS_2025_09, ['gemini-2.5-flash'], {
    'tier-1': { rpm: 1_000, itpm: 1_000_000, rpd: 10_000 },
    'tier-3': { rpm: 10_000, itpm: 8_000_000 },
  }),
  ...rows({ ...DOCS_2025_09, note: 'no daily request limit' }, ['gemini-2.5-flash-lite'], {
    'tier-1': { rpm: 4_000, itpm: 4_000_000 },
  }),
]);
