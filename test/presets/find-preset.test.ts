/** findPreset: names from configuration to a row, or a typed error that says what would work. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type AnthropicPreset,
  findPreset,
  type GeminiPreset,
  InvalidConfigError,
  isInvalidConfigError,
  type OpenAIPreset,
  type PresetQuery,
  presets,
  schemeOfTier,
  type TierPreset,
} from '../../src/index.js';

/** The InvalidConfigError `run` throws. */
function refusal(run: () => unknown): InvalidConfigError {
  try {
    run();
  } catch (error) {
    expect(isInvalidConfigError(error)).toBe(true);
    expect(error).toBeInstanceOf(InvalidConfigError);
    return error as InvalidConfigError;
  }
  throw new Error('expected an InvalidConfigError, nothing was thrown');
}

describe('findPreset', () => {
  it('finds the row of a tier and a model name, through the model class', () => {
    const row = findPreset({
      provider: 'anthropic',
      tier: 'build',
      model: 'claude-sonnet-4-5-20250929',
    });
    expect(row).toBe(presets.anthropic.build['sonnet-4.x']);
    expect(row).toMatchObject({ scheme: 'start-build-scale', modelClass: 'sonnet-4.x' });
    expect(
      findPreset({ provider: 'openai', tier: 'tier-1', model: 'gpt-4o-mini-2024-07-18' }),
    ).toBe(presets.openai['tier-1']['gpt-4o-mini']);
    expect(findPreset({ provider: 'gemini', tier: 'free', model: 'gemini-2.5-flash' })).toBe(
      presets.gemini.free['gemini-2.5-flash'],
    );
  });

  it('takes a model class instead of a model, or both when they agree', () => {
    const byClass = findPreset({ provider: 'anthropic', tier: 'tier-2', modelClass: 'haiku-4.5' });
    expect(byClass).toBe(presets.anthropic['tier-2']['haiku-4.5']);
    expect(
      findPreset({
        provider: 'anthropic',
        tier: 'tier-2',
        modelClass: 'haiku-4.5',
        model: 'claude-haiku-4-5-20251001',
      }),
    ).toBe(byClass);
    // Pools chosen by request size are reached by class only.
    expect(
      findPreset({ provider: 'openai', tier: 'tier-2', modelClass: 'gpt-5.5-long-context' }).limits
        .rpm,
    ).toBe(500);
  });

  it('picks the scheme from the tier name, since schemes name their tiers differently', () => {
    expect(schemeOfTier('anthropic', 'build')).toBe('start-build-scale');
    expect(schemeOfTier('anthropic', 'tier-2')).toBe('tier1-4');
    expect(schemeOfTier('openai', 'build')).toBe('build-launch-grow');
    expect(schemeOfTier('openai', 'tier-3')).toBe('tier1-5');
    expect(schemeOfTier('gemini', 'free')).toBe('free-tier1-3');
    expect(schemeOfTier('gemini', 'tier-5')).toBeUndefined();
    const legacy = findPreset({
      provider: 'anthropic',
      tier: 'tier-4',
      model: 'claude-sonnet-4-5',
    });
    expect(legacy).toMatchObject({ scheme: 'tier1-4', outputTokens: 'max_tokens' });
    const grow = findPreset({ provider: 'openai', tier: 'grow', model: 'gpt-6-sol' });
    expect(grow.scheme).toBe('build-launch-grow');
  });

  it('accepts a scheme that holds the tier and refuses one that does not', () => {
    expect(
      findPreset({ provider: 'openai', tier: 'tier-3', scheme: 'tier1-5', model: 'gpt-4o' }),
    ).toBe(presets.openai['tier-3']['gpt-4o']);
    const wrongScheme = refusal(() =>
      findPreset({
        provider: 'openai',
        tier: 'tier-3',
        scheme: 'build-launch-grow',
        model: 'gpt-4o',
      }),
    );
    expect(wrongScheme.option).toBe('tier');
    expect(wrongScheme.message).toContain('"build", "launch", "grow"');
    const unknownScheme = refusal(() =>
      findPreset({ provider: 'openai', tier: 'tier-3', scheme: 'tier1-6', model: 'gpt-4o' }),
    );
    expect(unknownScheme.option).toBe('scheme');
    expect(unknownScheme.received).toBe('tier1-6');
    expect(unknownScheme.message).toContain('did you mean "tier1-5"?');
  });

  it('refuses an unknown provider, naming the three it knows', () => {
    const error = refusal(() => findPreset({ provider: 'antropic' as 'anthropic', tier: 'build' }));
    expect(error.option).toBe('provider');
    expect(error.received).toBe('antropic');
    expect(error.message).toContain('"anthropic", "openai", "gemini"');
    expect(error.message).toContain('did you mean "anthropic"?');
  });

  it('refuses an unknown tier, naming every tier of the provider and the nearest one', () => {
    const error = refusal(() =>
      findPreset({ provider: 'anthropic', tier: 'bild', model: 'claude-haiku-4-5' }),
    );
    expect(error.option).toBe('tier');
    expect(error.received).toBe('bild');
    expect(error.message).toContain('start | build | scale (start-build-scale)');
    expect(error.message).toContain('tier-1 | tier-2 | tier-3 | tier-4 (tier1-4)');
    expect(error.message).toContain('did you mean "build"?');
    // OpenAI has no "scale": nothing close enough to suggest, the tiers are still listed.
    const openai = refusal(() =>
      findPreset({ provider: 'openai', tier: 'scale', model: 'gpt-4o' }),
    );
    expect(openai.message).toContain('tier-1 | tier-2 | tier-3 | tier-4 | tier-5 (tier1-5)');
    expect(openai.message).not.toContain('did you mean');
  });

  it('refuses an unknown model, naming the known classes and the nearest real name', () => {
    const error = refusal(() =>
      findPreset({ provider: 'anthropic', tier: 'build', model: 'claude-sonet-4-5' }),
    );
    expect(error.option).toBe('model');
    expect(error.received).toBe('claude-sonet-4-5');
    expect(error.message).toContain('sonnet-4.x, haiku-5.5');
    expect(error.message).toContain('did you mean "claude-sonnet-4-5" (sonnet-4.x)?');
    expect(error.message).toContain('explicit `limits`');
    // o3 has no page with numbers; o3-pro and o3-mini are other models, not typos of it.
    const openai = refusal(() => findPreset({ provider: 'openai', tier: 'tier-1', model: 'o3' }));
    expect(openai.message).toContain('gpt-4o-mini');
    expect(openai.message).not.toContain('did you mean');
  });

  it('refuses an unknown model class, and a model of another class than the one given', () => {
    const unknown = refusal(() =>
      findPreset({ provider: 'anthropic', tier: 'build', modelClass: 'sonnet-4' }),
    );
    expect(unknown.option).toBe('modelClass');
    expect(unknown.message).toContain('did you mean "sonnet-4.x"?');
    const mismatch = refusal(() =>
      findPreset({
        provider: 'anthropic',
        tier: 'build',
        modelClass: 'sonnet-4.x',
        model: 'claude-haiku-4-5',
      }),
    );
    expect(mismatch.option).toBe('model');
    expect(mismatch.message).toContain('a model of class "sonnet-4.x"');
  });

  it('asks for a model when neither a model nor a class is given', () => {
    const error = refusal(() => findPreset({ provider: 'openai', tier: 'tier-1' }));
    expect(error.option).toBe('model');
    expect(error.received).toBeUndefined();
  });

  it('refuses a known class with no row in that tier, naming the classes that have one', () => {
    const error = refusal(() =>
      findPreset({ provider: 'anthropic', tier: 'build', model: 'claude-3-7-sonnet-20250219' }),
    );
    expect(error.option).toBe('model');
    expect(error.received).toBe('claude-3-7-sonnet-20250219');
    expect(error.message).toContain('a model class with a "build" row for anthropic');
    expect(error.message).toContain('sonnet-4.x');
    expect(error.message).toContain('"sonnet-3.7" has rows in tier-1 | tier-2 | tier-3 | tier-4');
    const unpublished = refusal(() =>
      findPreset({ provider: 'anthropic', tier: 'start', modelClass: 'haiku-5.5' }),
    );
    expect(unpublished.option).toBe('modelClass');
    expect(unpublished.message).toContain('"haiku-5.5" has no rows');
  });

  it('says a tier has no published numbers at all (Gemini Tier 2)', () => {
    const error = refusal(() =>
      findPreset({ provider: 'gemini', tier: 'tier-2', model: 'gemini-2.5-flash' }),
    );
    expect(error.option).toBe('tier');
    expect(error.received).toBe('tier-2');
    expect(error.message).toContain('gemini "tier-2" has none');
    expect(error.message).toContain('"gemini-2.5-flash" has rows in free | tier-1 | tier-3');
  });

  it('returns the provider row type for a literal provider', () => {
    const anthropic = () => findPreset({ provider: 'anthropic', tier: 'build', model: 'm' });
    expectTypeOf(anthropic).returns.toEqualTypeOf<AnthropicPreset>();
    const openai = () => findPreset({ provider: 'openai', tier: 'tier-1', model: 'm' });
    expectTypeOf(openai).returns.toEqualTypeOf<OpenAIPreset>();
    const gemini = () => findPreset({ provider: 'gemini', tier: 'free', model: 'm' });
    expectTypeOf(gemini).returns.toEqualTypeOf<GeminiPreset>();
    const fromConfig: PresetQuery = { provider: 'openai', tier: String('tier-1'), model: 'gpt-4o' };
    expectTypeOf(() => findPreset(fromConfig)).returns.toEqualTypeOf<TierPreset>();
    expectTypeOf(presets.anthropic.build['sonnet-4.x']).toEqualTypeOf<AnthropicPreset>();
    expectTypeOf(presets.anthropic.build['sonnet-4.x'].limits.otpm).toEqualTypeOf<number>();
    // @ts-expect-error Sonnet 3.7 has no Start/Build/Scale row
    void presets.anthropic.build['sonnet-3.7'];
    // @ts-expect-error Gemini Tier 2 has no rows
    void presets.gemini['tier-2'];
  });
});
