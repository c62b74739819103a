import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { emptyTotals, type DeadLetter, type DeadLetterReason, type DeadLetterTotals } from './dead-letter-record';

/**
 * The files of a dead-letter directory, as DeadLetterStore writes them and `dco deadletters`
 * reads them: `deadletters.jsonl`, rotated to `deadletters.<n>.jsonl`, and `summary.json`.
 */
export const CURRENT = 'deadletters.jsonl';
export const rotated = (n: number) => `deadletters.${n}.jsonl`;
export const SUMMARY = 'summary.json';

/** `summary.json`: totals over every dead letter ever recorded in the directory. */
export interface Summary {
  version: 1;
  /** Entries up to this seq are counted in `totals`; later ones are still in the files. */
  lastSeq: number;
  totals: Partial<Record<string, number>>;
  firstAt?: string;
  lastAt?: string;
  updatedAt: string;
}

export interface DeadLetterReport {
  dir: string;
  /** False when the directory has no record (the bridge has not written one there). */
  exists: boolean;
  total: number;
  totals: DeadLetterTotals;
  firstAt?: string;
  lastAt?: string;
  /** Entries still on disk (older ones were rotated away; their counts remain in `totals`). */
  kept: number;
  /** The latest entries, oldest first. */
  latest: DeadLetter[];
}

/** Reads a dead-letter directory as a bridge left it (or while one writes to it). */
export function readDeadLetters(dir: string, limit = 20): DeadLetterReport {
  if (!existsSync(path.join(dir, SUMMARY)) && !existsSync(path.join(dir, CURRENT))) {
    return { dir, exists: false, total: 0, totals: emptyTotals(), kept: 0, latest: [] };
  }
  const state = readState(dir);
  const total = Object.values(state.totals).reduce((a, b) => a + b, 0);
  return {
    dir,
    exists: true,
    total,
    totals: state.totals,
    ...(state.firstAt ? { firstAt: state.firstAt } : {}),
    ...(state.lastAt ? { lastAt: state.lastAt } : {}),
    kept: state.kept,
    latest: limit > 0 ? state.latest.slice(-limit) : [],
  };
}

/** Summary plus whatever the files hold beyond it; every entry on disk, oldest first. */
export function readState(dir: string): { totals: DeadLetterTotals; lastSeq: number; firstAt?: string; lastAt?: string; latest: DeadLetter[]; kept: number } {
  const totals = emptyTotals();
  let lastSeq = 0;
  let firstAt: string | undefined;
  let lastAt: string | undefined;
  const summaryFile = path.join(dir, SUMMARY);
  if (existsSync(summaryFile)) {
    try {
      const s = JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary;
      for (const [reason, n] of Object.entries(s.totals ?? {})) if (typeof n === 'number') totals[reason as DeadLetterReason] = n;
      lastSeq = s.lastSeq ?? 0;
      firstAt = s.firstAt;
      lastAt = s.lastAt;
    } catch {
      // unreadable: counted from the files below (entries already rotated away are lost)
    }
  }
  const files: string[] = [];
  for (let n = 1; existsSync(path.join(dir, rotated(n))); n++) files.unshift(rotated(n));
  files.push(CURRENT);
  const entries: DeadLetter[] = [];
  for (const file of files) {
    const full = path.join(dir, file);
    if (!existsSync(full)) continue;
    for (const line of readFileSync(full, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        entries.push(JSON.parse(line) as DeadLetter);
      } catch {
        // a line cut by a crash
      }
    }
  }
  let maxSeq = lastSeq;
  for (const e of entries) {
    if (typeof e.seq !== 'number' || e.seq <= lastSeq) continue;
    totals[e.reason] = (totals[e.reason] ?? 0) + 1;
    firstAt ??= e.receivedAt;
    lastAt = e.receivedAt;
    maxSeq = Math.max(maxSeq, e.seq);
  }
  return { totals, lastSeq: maxSeq, firstAt, lastAt, latest: entries, kept: entries.length };
}
