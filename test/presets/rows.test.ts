/**
 * Every preset row is complete and traceable. The expectations (which dimensions each scheme
 * has, how output counts) are written here from ../shared/PROVIDERS.md, not read from the code.
 */
import { describe, expect, it } from 'vitest';
import {
  modelClasses,
  type PresetLimits,
  presetRows,
  presetSchemes,
  presets,
  type TierPreset,
} from '../../src/index.js';

const REQUIRED: Record<string, (keyof PresetLimits)[]> = {
  'start-build-scale': ['rpm', 'itpm', 'otpm'],
  'tier1-4': ['rpm', 'itpm', 'otpm'],
  'tier1-5': ['rpm', 'tpm'],
  'build-launch-grow': ['rpm', 'tpm'],
  'free-tier1-3': ['rpm', 'itpm'],
};

const OUTPUT_COUNTING: Record<string, TierPreset['outputTokens']> = {
  'start-build-scale': 'generated',
  'tier1-4': 'max_tokens',
  'tier1-5': 'max_tokens',
  'build-launch-grow': 'max_tokens',
  'free-tier1-3': 'none',
};

const today = new Date().toISOString().slice(0, 10);

function https(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}
const label = (r: TierPreset) => `${r.provider} ${r.scheme} ${r.tier} ${r.modelClass}`;

describe('preset rows', () => {
  it('ship rows for all three providers', () => {
    const count = (p: string) => presetRows.filter((r) => r.provider === p).length;
    expect(count('anthropic')).toBeGreaterThan(40);
    expect(count('openai')).toBeGreaterThan(100);
    expect(count('gemini')).toBeGreaterThan(5);
  });

  // Each check lists the rows that break it, so one run names every bad row.
  it('have every limit of their scheme, and only known dimensions, as positive integers', () => {
    const known = ['rpm', 'itpm', 'otpm', 'tpm', 'rpd', 'tpd', 'batchQueueTokens'];
    const problems = presetRows.flatMap((row) => {
      const required = REQUIRED[row.scheme];
      if (required === undefined) return [`${label(row)}: unknown scheme`];
      const missing = required.filter((dim) => row.limits[dim] === undefined);
      const bad = Object.entries(row.limits).filter(
        ([dim, value]) => !known.includes(dim) || !(Number.isSafeInteger(value) && value > 0),
      );
      return [
        ...missing.map((dim) => `${label(row)}: no ${dim}`),
        ...bad.map(([dim, value]) => `${label(row)}: ${dim} = ${value}`),
      ];
    });
    expect(problems).toEqual([]);
  });

  it('are sourced, dated, tagged and count output as their scheme does', () => {
    const problems = presetRows.flatMap((row) => {
      const found: string[] = [];
      if (!https(row.source)) found.push(`source ${row.source}`);
      if (row.archive !== undefined && !https(row.archive)) found.push(`archive ${row.archive}`);
      // A real calendar date (2026-02-30 would come back as March), not in the future.
      const parsed = new Date(`${row.asOf}T00:00:00Z`);
      const valid =
        /^\d{4}-\d{2}-\d{2}$/.test(row.asOf) &&
        !Number.isNaN(parsed.getTime()) &&
        parsed.toISOString().slice(0, 10) === row.asOf;
      if (!valid || row.asOf > today) found.push(`asOf ${row.asOf}`);
      if (!['doc', 'obs', '3p', 'inf'].includes(row.confidence)) found.push(row.confidence);
      if (row.outputTokens !== OUTPUT_COUNTING[row.scheme]) found.push(row.outputTokens);
      // A figure that is not the provider's own word says where it comes from.
      if ((row.confidence === 'inf' || row.confidence === '3p') && !row.note) found.push('no note');
      return found.map((f) => `${label(row)}: ${f}`);
    });
    expect(problems).toEqual([]);
  });

  it('name only tiers of their own scheme and known model classes', () => {
    for (const row of presetRows) {
      const scheme = presetSchemes[row.provider].find((s) => s.scheme === row.scheme);
      expect(scheme?.tiers, label(row)).toContain(row.tier);
      const known = modelClasses
        .filter((c) => c.provider === row.provider)
        .map((c) => c.modelClass);
      expect(known, label(row)).toContain(row.modelClass);
    }
  });

  it('never list one tier and model class twice, and match the nested view row for row', () => {
    const keys = presetRows.map((r) => `${r.provider}|${r.tier}|${r.modelClass}`);
    expect(new Set(keys).size).toBe(keys.length);
    const nested = Object.values(presets).flatMap((byTier) =>
      Object.values(byTier).flatMap((byClass) => Object.values(byClass)),
    );
    expect(nested).toHaveLength(presetRows.length);
    for (const row of presetRows) {
      const table = presets[row.provider] as Record<string, Record<string, TierPreset>>;
      expect(table[row.tier]?.[row.modelClass]).toBe(row);
    }
  });

  it('cannot be edited in place, since every pipeline shares them', () => {
    const row = presets.anthropic.build['sonnet-4.x'];
    expect(Object.isFrozen(row)).toBe(true);
    expect(Object.isFrozen(row.limits)).toBe(true);
    expect(Object.isFrozen(presets.anthropic.build)).toBe(true);
    expect(Object.isFrozen(presetRows)).toBe(true);
    expect(() => {
      (row.limits as { rpm: number }).rpm = 1;
    }).toThrow(TypeError);
  });

  it('cover every tier of every scheme, except Gemini Tier 2 (no numbers published)', () => {
    for (const schemes of Object.values(presetSchemes)) {
      for (const { provider, scheme, tiers } of schemes) {
        for (const tier of tiers) {
          const has = presetRows.some((r) => r.scheme === scheme && r.tier === tier);
          expect(has, `${provider} ${scheme} ${tier}`).toBe(
            provider !== 'gemini' || tier !== 'tier-2',
          );
        }
      }
    }
  });

  it('mark Gemini rows as dated snapshots', () => {
    const gemini = presetRows.filter((r) => r.provider === 'gemini');
    expect(gemini.every((r) => r.provider === 'gemini' && r.snapshot === true)).toBe(true);
  });

  it('carry the figures of the sources (spot checks against PROVIDERS.md)', () => {
    expect(presets.anthropic.start['fable-5.x'].limits).toEqual({
      rpm: 1_000,
      itpm: 500_000,
      otpm: 100_000,
    });
    expect(presets.anthropic.scale['opus-5'].limits).toEqual({
      rpm: 10_000,
      itpm: 10_000_000,
      otpm: 2_000_000,
    });
    expect(presets.anthropic['tier-3']['haiku-4.5'].limits).toEqual({
      rpm: 2_000,
      itpm: 1_000_000,
      otpm: 200_000,
    });
    expect(presets.anthropic['tier-4']['opus-3'].limits.itpm).toBe(400_000);
    expect(presets.openai['tier-1']['gpt-4o-mini'].limits).toEqual({
      rpm: 500,
      rpd: 10_000,
      tpm: 200_000,
      batchQueueTokens: 2_000_000,
    });
    expect(presets.openai['tier-2']['o4-mini'].limits.tpm).toBe(2_000_000);
    expect(presets.openai['tier-2']['o3-mini'].limits.tpm).toBe(200_000);
    expect(presets.openai['tier-5']['gpt-5-nano'].limits.tpm).toBe(180_000_000);
    expect(presets.openai.launch['gpt-6-astra'].limits).toEqual({ rpm: 10_000, tpm: 4_000_000 });
    expect(presets.gemini['tier-1']['gemini-2.5-pro'].limits).toEqual({
      rpm: 150,
      itpm: 2_000_000,
      rpd: 10_000,
    });
  });

  it('tag third-party and inferred figures as PROVIDERS.md does', () => {
    const { anthropic, openai, gemini } = presets;
    expect(anthropic.start['opus-5.5'].confidence).toBe('3p');
    expect(anthropic.start['sonnet-5.5'].confidence).toBe('3p');
    expect(anthropic.build['opus-5.5'].confidence).toBe('inf');
    expect(anthropic.scale['sonnet-5.5'].confidence).toBe('inf');
    expect(anthropic.start['haiku-4.5'].confidence).toBe('doc');
    for (const tier of ['build', 'launch', 'grow'] as const) {
      expect(openai[tier]['gpt-6-sol'].confidence).toBe('3p');
    }
    expect(openai['tier-4']['gpt-6-sol'].confidence).toBe('doc');
    expect(gemini.free['gemini-2.5-flash'].confidence).toBe('obs');
    expect(gemini['tier-1']['gemini-2.5-flash'].confidence).toBe('doc');
  });

  it('count cache reads toward ITPM on exactly the † rows', () => {
    const dagger = presetRows
      .filter((r) => r.countsCacheReads === true)
      .map((r) => `${r.scheme} ${r.modelClass}`);
    expect([...new Set(dagger)].sort()).toEqual([
      'start-build-scale haiku-3.5',
      'tier1-4 haiku-3',
      'tier1-4 haiku-3.5',
      'tier1-4 opus-3',
    ]);
  });
});
