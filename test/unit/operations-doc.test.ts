import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SETTINGS_ENV } from '../../config/settings';

/** docs/operations.md documents every setting the processes read, so it cannot drift. */

const ROOT = path.resolve(__dirname, '..', '..');
const doc = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');

/** Folders whose code runs in `dco` processes (tests and tooling read their own variables). */
const RUNTIME_FOLDERS = ['protocol', 'workflows', 'activities', 'workers', 'bridge', 'client', 'cli', 'config', 'device', 'stack'];

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return typescriptFiles(full);
    return entry.endsWith('.ts') ? [full] : [];
  });
}

describe('docs/operations.md', () => {
  it.each(Object.entries(SETTINGS_ENV))('documents the setting %s (%s)', (_key, variable) => {
    expect(doc).toContain(`\`${variable}\``);
  });

  it('documents every environment variable the runtime code reads', () => {
    const read = new Set<string>();
    for (const folder of RUNTIME_FOLDERS) {
      for (const file of typescriptFiles(path.join(ROOT, folder))) {
        const source = readFileSync(file, 'utf8');
        for (const m of source.matchAll(/process\.env(?:\.([A-Z_][A-Z0-9_]*)|\[['"]([A-Z_][A-Z0-9_]*)['"]\])/g)) read.add(m[1] ?? m[2]);
      }
    }
    expect(read.size).toBeGreaterThan(0);
    const undocumented = [...read].filter((v) => !doc.includes(`\`${v}\``)).sort();
    expect(undocumented).toEqual([]);
  });
});
