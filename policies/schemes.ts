import type { PresetProvider, PresetScheme, PresetSchemeInfo } from './types.js';

/**
 * Each provider's tier schemes, newest first. Within one provider the schemes name their tiers
 * differently, so a tier name alone picks its scheme; were two ever to share a name, the newer
 * scheme (listed first) would win.
 */
export const presetSchemes: Readonly<Record<PresetProvider, readonly PresetSchemeInfo[]>> =
  Object.freeze({
    anthropic: Object.freeze([
      info('anthropic', 'start-build-scale', ['start', 'build', 'scale'], '2026-06-26'),
      info(
        'anthropic',
        'tier1-4',
        ['tier-1', 'tier-2', 'tier-3', 'tier-4'],
        undefined,
        '2026-06-25',
      ),
    ]),
    openai: Object.freeze([
      info('openai', 'build-launch-grow', ['build', 'launch', 'grow'], '2026-10-06'),
      info(
        'openai',
        'tier1-5',
        ['tier-1', 'tier-2', 'tier-3', 'tier-4', 'tier-5'],
        undefined,
        '2026-10-05',
      ),
    ]),
    gemini: Object.freeze([info('gemini', 'free-tier1-3', ['free', 'tier-1', 'tier-2', 'tier-3'])]),
  });

export const presetProviders: readonly PresetProvider[] = Object.freeze([
  'anthropic',
  'openai',
  'gemini',
]);

export function isPresetProvider(value: unknown): value is PresetProvider {
  return typeof value === 'string' && (presetProviders as readonly string[]).includes(value);
}

/** The scheme a tier name belongs to for this provider, or undefined for an unknown tier. */
export function schemeOfTier(provider: PresetProvider, tier: string): PresetScheme | undefined {
  return presetSchemes[provider].find((s) => (s.tiers as readonly string[]).includes(tier))?.scheme;
}

function info(
  provider: PresetProvider,
  scheme: PresetScheme,
  tiers: PresetSchemeInfo['tiers'],
  from?: string,
  until?: string,
): PresetSchemeInfo {
  return Object.freeze({
    provider,
    scheme,
    tiers: Object.freeze([...tiers]),
    ...(from === undefined ? {} : { from }),
    ...(until === undefined ? {} : { until }),
  });
}
