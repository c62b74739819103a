import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { JournalRecord } from './command-book';

/**
 * A journal on disk: append-only JSON lines (the records of command-book.ts), written
 * synchronously, so a record is on its way to disk before the device acts on it.
 *
 * `durable` (the reference agent) fsyncs each record: without it a power cut can lose the last
 * records the OS had not yet written, and the device would run a command again when it is
 * repeated. The cost is one fsync per record, three or four per command (docs/protocol.md, "The
 * reference agent", has the measured figure). The fleet simulator skips it: its devices are
 * simulated, and 10,000 of them on one disk would wait on fsyncs.
 */
export class JournalFile {
  private fd?: number;

  constructor(
    readonly file: string,
    private readonly durable: boolean,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  append(record: JournalRecord): void {
    this.fd ??= openSync(this.file, 'a');
    writeSync(this.fd, JSON.stringify(record) + '\n');
    if (this.durable) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The records of a journal file, in order; none if there is no file. A torn last line (a crash mid-write) is skipped. */
export function readJournal(file: string): JournalRecord[] {
  if (!existsSync(file)) return [];
  const records: JournalRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as JournalRecord;
      if (r && typeof r.commandId === 'string') records.push(r);
    } catch {
      // torn write at a crash
    }
  }
  return records;
}

/** Replaces the file's content with `records` at once (write aside, then rename): a crash leaves the old file or the new one. */
export function rewriteJournal(file: string, records: readonly JournalRecord[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, records.map((r) => JSON.stringify(r) + '\n').join(''));
  renameSync(`${file}.tmp`, file);
}
