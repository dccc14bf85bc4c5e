/** Model names map to the class the provider meters them under: one class, one budget. */
import { describe, expect, it } from 'vitest';
import { modelClasses, modelClassOf } from '../../src/index.js';

describe('modelClassOf', () => {
  // Names from PROVIDERS.md, the providers' pages and the SDKs, with the class each is metered by.
  it.each([
    ['claude-sonnet-4-5-20250929', 'sonnet-4.x'],
    ['claude-sonnet-4-5', 'sonnet-4.x'],
    ['claude-sonnet-4-6', 'sonnet-4.x'],
    ['claude-sonnet-4-20250514', 'sonnet-4.x'],
    ['claude-sonnet-4-0', 'sonnet-4.x'],
    ['claude-sonnet-4-5@20250929', 'sonnet-4.x'],
    ['anthropic/claude-sonnet-4.5', 'sonnet-4.x'],
    ['claude-opus-4-1-20250805', 'opus-4.x'],
    ['claude-opus-4-8', 'opus-4.x'],
    ['claude-opus-4-20250514', 'opus-4.x'],
    ['claude-opus-5', 'opus-5'],
    ['claude-opus-5-5', 'opus-5.5'],
    ['claude-sonnet-5', 'sonnet-5'],
    ['claude-sonnet-5-5', 'sonnet-5.5'],
    ['claude-fable-5', 'fable-5.x'],
    ['claude-fable-5-1', 'fable-5.x'],
    ['claude-haiku-4-5', 'haiku-4.5'],
    ['claude-haiku-4-5-20251001', 'haiku-4.5'],
    ['claude-3-5-haiku-20241022', 'haiku-3.5'],
    ['claude-3-5-haiku-latest', 'haiku-3.5'],
    ['claude-3-haiku-20240307', 'haiku-3'],
    ['claude-3-7-sonnet-20250219', 'sonnet-3.7'],
    ['claude-3-opus-20240229', 'opus-3'],
    ['Claude-Sonnet-4-5', 'sonnet-4.x'],
  ])('anthropic %s -> %s', (model, cls) => {
    expect(modelClassOf('anthropic', model)).toBe(cls);
  });

  it.each([
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['gpt-4o-mini', 'gpt-4o-mini'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o', 'gpt-4o'],
    ['gpt-4.1-2025-04-14', 'gpt-4.1'],
    ['gpt-5.5-2026-04-23', 'gpt-5.5'],
    ['gpt-5-mini-2025-08-07', 'gpt-5-mini'],
    ['gpt-5-nano-2025-08-07', 'gpt-5-nano'],
    ['gpt-5-pro-2025-10-06', 'gpt-5-pro'],
    ['o3-pro-2025-06-10', 'o3-pro'],
    ['o4-mini-2025-04-16', 'o4-mini'],
    ['o3-mini-2025-01-31', 'o3-mini'],
    ['codex-mini-latest', 'codex-mini-latest'],
    ['chatgpt-4o-latest', 'chatgpt-4o-latest'],
    ['gpt-5.6', 'gpt-5.6-sol'],
    ['gpt-6-sol', 'gpt-6-sol'],
    ['gpt-6-astra', 'gpt-6-astra'],
    ['gpt-6-luna', 'gpt-6-luna'],
  ])('openai %s -> %s', (model, cls) => {
    expect(modelClassOf('openai', model)).toBe(cls);
  });

  it.each([
    ['gemini-2.5-flash', 'gemini-2.5-flash'],
    ['models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['gemini-2.5-flash-lite', 'gemini-2.5-flash-lite'],
    ['gemini-2.5-pro', 'gemini-2.5-pro'],
    ['gemini-3-flash-preview', 'gemini-3-flash'],
  ])('gemini %s -> %s', (model, cls) => {
    expect(modelClassOf('gemini', model)).toBe(cls);
  });

  it('keeps models of one line of a table apart when the provider meters them apart', () => {
    // gpt-4o and gpt-4.1 show the same numbers, yet each has its own budget.
    expect(modelClassOf('openai', 'gpt-4o')).not.toBe(modelClassOf('openai', 'gpt-4.1'));
    // Anthropic: Sonnet 5 has its own bucket beside the Sonnet 4.x pool; Haiku 4.5 beside Sonnet.
    expect(modelClassOf('anthropic', 'claude-sonnet-5')).not.toBe(
      modelClassOf('anthropic', 'claude-sonnet-4-6'),
    );
    expect(modelClassOf('anthropic', 'claude-haiku-4-5')).not.toBe(
      modelClassOf('anthropic', 'claude-sonnet-4-5'),
    );
  });

  it('returns undefined for names it does not know, and for another provider', () => {
    for (const model of [
      'claude-3-5-sonnet-20241022', // retired, no row anywhere
      'claude-opus-4-8-extra',
      'claude-sonnet',
      'gpt-4.1-mini', // no page found for it
      'o3',
      'gpt-4o-mini-preview',
      'gemini-2.5-flash-preview-09-2025', // preview models have their own, tighter limits
      '',
    ]) {
      const provider = model.startsWith('claude')
        ? 'anthropic'
        : model.startsWith('gemini')
          ? 'gemini'
          : 'openai';
      expect(modelClassOf(provider, model), model).toBeUndefined();
    }
    expect(modelClassOf('openai', 'claude-haiku-4-5')).toBeUndefined();
    expect(modelClassOf('anthropic', 'gpt-4o')).toBeUndefined();
  });

  it('maps a class name to itself, including pools only a class name can reach', () => {
    expect(modelClassOf('anthropic', 'sonnet-4.x')).toBe('sonnet-4.x');
    expect(modelClassOf('openai', 'gpt-5.5-long-context')).toBe('gpt-5.5-long-context');
    // A long request to gpt-5.5 is still named gpt-5.5: the size, not the name, picks the pool.
    expect(modelClassOf('openai', 'gpt-5.5')).toBe('gpt-5.5');
  });

  it('maps every listed example name to its own class', () => {
    const wrong = modelClasses.flatMap((c) =>
      c.examples
        .filter((model) => modelClassOf(c.provider, model) !== c.modelClass)
        .map((model) => `${model} -> ${modelClassOf(c.provider, model)}, not ${c.modelClass}`),
    );
    expect(wrong).toEqual([]);
    expect(modelClasses.filter((c) => c.examples.length > 0).length).toBeGreaterThan(40);
  });
});
