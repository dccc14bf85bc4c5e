import type { TierPreset } from './types.js';

/** What the rows of one table share: everything but the tier, the model class and the limits. */
export type RowMeta<P extends TierPreset> = Omit<P, 'tier' | 'modelClass' | 'limits' | 'source'> & {
  /** One URL for every row, or one per model class (OpenAI has a page per model). */
  readonly source: string | ((modelClass: string) => string);
};

/**
 * Writes the rows of one line of a provider's table: the model classes that share these numbers
 * (each still its own budget), and the limits per tier, as the provider's page lists them.
 * Rows come out frozen, so a preset shared by every pipeline cannot be edited in place.
 */
export function rowsOf<P extends TierPreset>() {
  return <const C extends string, const T extends P['tier']>(
    meta: RowMeta<P>,
    modelClasses: readonly C[],
    limitsByTier: { readonly [K in T]: P['limits'] },
  ): readonly (P & { readonly tier: T; readonly modelClass: C })[] => {
    const { source, ...shared } = meta;
    const rows: (P & { readonly tier: T; readonly modelClass: C })[] = [];
    for (const modelClass of modelClasses) {
      for (const [tier, limits] of Object.entries(limitsByTier) as [T, P['limits']][]) {
        rows.push(
          Object.freeze({
            ...shared,
            tier,
            modelClass,
            limits: Object.freeze({ ...limits }),
            source: typeof source === 'string' ? source : source(modelClass),
          }) as unknown as P & { readonly tier: T; readonly modelClass: C },
        );
      }
    }
    return rows;
  };
}

type ClassesAt<R, T> = R extends { readonly tier: infer RT; readonly modelClass: infer C }
  ? T extends RT
    ? C
    : never
  : never;

/** Rows keyed by tier, then by model class: `table['build']['sonnet-4.x']`. */
export type PresetTable<R extends TierPreset, P extends TierPreset> = {
  readonly [T in R['tier']]: { readonly [C in ClassesAt<R, T> & string]: P };
};

/** Nests rows by tier and model class; a second row for the same pair is a data error. */
export function tableOf<R extends TierPreset, P extends TierPreset>(
  rows: readonly R[],
): PresetTable<R, P> {
  const table: Record<string, Record<string, TierPreset>> = {};
  for (const row of rows) {
    const byClass = table[row.tier] ?? {};
    table[row.tier] = byClass;
    if (byClass[row.modelClass] !== undefined) {
      throw new Error(`Duplicate preset row: ${row.provider} ${row.tier} ${row.modelClass}`);
    }
    byClass[row.modelClass] = row;
  }
  for (const byClass of Object.values(table)) Object.freeze(byClass);
  return Object.freeze(table) as unknown as PresetTable<R, P>;
}
