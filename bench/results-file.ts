import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { say } from './say';

/** Writes the results to bench/results/<time>.json and prints them on stdout. */
export function saveResults(results: Record<string, unknown>): void {
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  const file = path.join(__dirname, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  say(`results written to ${path.relative(process.cwd(), file)}`);
}
