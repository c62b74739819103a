/**
 * Writes the JSON Schemas of the wire messages to protocol/json-schema/ (`npm run gen:schemas`).
 * Stale `*.schema.json` files (a message that no longer exists) are removed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JSON_SCHEMA_DIR, renderJsonSchemas } from './json-schemas';

function main(): void {
  const files = renderJsonSchemas();
  mkdirSync(JSON_SCHEMA_DIR, { recursive: true });
  for (const existing of readdirSync(JSON_SCHEMA_DIR)) {
    if (existing.endsWith('.schema.json') && !(existing in files)) {
      rmSync(path.join(JSON_SCHEMA_DIR, existing));
      console.log(`removed ${path.relative(process.cwd(), path.join(JSON_SCHEMA_DIR, existing))}`);
    }
  }
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(JSON_SCHEMA_DIR, name);
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    const rel = path.relative(process.cwd(), file);
    if (current === content) {
      console.log(`unchanged ${rel}`);
    } else {
      writeFileSync(file, content);
      console.log(`wrote ${rel}`);
    }
  }
}

main();
