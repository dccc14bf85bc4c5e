/** docs/presets.md shows the data as it is: its tables are regenerated and compared. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { presetRows } from '../../policies/index.js';
import { BEGIN, DOC, END, renderPresetTables, withTables } from '../../scripts/presets-doc.js';

describe('docs/presets.md', () => {
  const page = readFileSync(DOC, 'utf8');

  it('holds the tables generated from the current data (run `npx tsx scripts/presets-doc.ts`)', () => {
    expect(page).toContain(BEGIN);
    expect(page).toContain(END);
    expect(withTables(page)).toBe(page);
  });

  it('lists every model class of every row in the tables', () => {
    const tables = renderPresetTables();
    const missing = presetRows.filter((r) => !tables.includes(`| \`${r.modelClass}\``));
    expect(missing.map((r) => r.modelClass)).toEqual([]);
  });
});
