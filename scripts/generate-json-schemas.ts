/**
 * Writes the JSON Schemas of the wire messages to protocol/json-schema/ and those of the
 * Temporal contract to protocol/json-schema/service/ (`npm run gen:schemas`).
 * Stale `*.schema.json` files (a schema that no longer exists) are removed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JSON_SCHEMA_DIR, renderJsonSchemas, renderServiceJsonSchemas, SERVICE_JSON_SCHEMA_DIR } from './json-schemas';

function writeDir(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const existing of readdirSync(dir)) {
    if (existing.endsWith('.schema.json') && !(existing in files)) {
      rmSync(path.join(dir, existing));
      console.log(`removed ${path.relative(process.cwd(), path.join(dir, existing))}`);
    }
  }
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
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

function main(): void {
  writeDir(JSON_SCHEMA_DIR, renderJsonSchemas());
  writeDir(SERVICE_JSON_SCHEMA_DIR, renderServiceJsonSchemas());
}

main();
