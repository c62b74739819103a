import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AckMessage, ResultMessage } from '../../protocol/messages';

/**
 * What one device's journal says about one command. Read independently of the device's own
 * loader (device/command-book.ts starts a new entry at every `ack` line and keeps only the
 * first result), so anything the device would hide — a command taken as new twice, two
 * different results — is visible to the checker.
 */
export interface DeviceFacts {
  deviceId: string;
  commandId: string;
  /** One per time the device took the command as new (must be 1). */
  acks: AckMessage[];
  /** Times the handler started (must be at most 1). */
  executions: number;
  /** Every result the device stored (must all be the same). */
  results: ResultMessage[];
  delivered: boolean;
}

/** The reference agent's journal lines (JournalRecord, device/command-book.ts); the file is per device. */
type JournalRecord =
  | { type: 'ack'; commandId: string; ack: AckMessage }
  | { type: 'executing'; commandId: string }
  | { type: 'result'; commandId: string; result: ResultMessage }
  | { type: 'delivered'; commandId: string };

export interface JournalReadStats {
  files: number;
  lines: number;
  /** Lines that are not JSON: a write torn by a kill (the agent skips them too). */
  tornLines: number;
}

const SUFFIX = '.journal.jsonl';

/** Folds one device's journal text into facts per command. */
export function foldJournal(deviceId: string, text: string, into: Map<string, DeviceFacts>, stats: JournalReadStats): void {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    stats.lines++;
    let r: JournalRecord;
    try {
      r = JSON.parse(line);
    } catch {
      stats.tornLines++;
      continue;
    }
    if (!r || typeof r.commandId !== 'string') {
      stats.tornLines++;
      continue;
    }
    const key = `${deviceId} ${r.commandId}`;
    let facts = into.get(key);
    if (!facts) {
      facts = { deviceId, commandId: r.commandId, acks: [], executions: 0, results: [], delivered: false };
      into.set(key, facts);
    }
    if (r.type === 'ack') facts.acks.push(r.ack);
    else if (r.type === 'executing') facts.executions++;
    else if (r.type === 'result') facts.results.push(r.result);
    else if (r.type === 'delivered') facts.delivered = true;
  }
}

/** Every `<deviceId>.journal.jsonl` in `dir` (append-only files, never rewritten by the agent). */
export function readDeviceJournals(dir: string): { facts: DeviceFacts[]; stats: JournalReadStats } {
  const stats: JournalReadStats = { files: 0, lines: 0, tornLines: 0 };
  const byKey = new Map<string, DeviceFacts>();
  if (!existsSync(dir)) return { facts: [], stats };
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .sort()) {
    stats.files++;
    foldJournal(file.slice(0, -SUFFIX.length), readFileSync(path.join(dir, file), 'utf8'), byKey, stats);
  }
  return { facts: [...byKey.values()], stats };
}
