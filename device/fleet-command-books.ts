import { CommandBook, type JournalRecord } from './command-book';
import type { SimDevice } from './fleet-settings';
import { JournalFile, readJournal, rewriteJournal } from './journal-file';

/**
 * The command books of one fleet connection's devices: one per device (command-book.ts, the
 * same protocol core as the reference agent), all their records in one journal file, each record
 * naming its device, compacted at every open.
 */
export class FleetCommandBooks {
  private readonly books = new Map<string, CommandBook>();
  private journal?: JournalFile;

  constructor(
    private readonly devices: readonly SimDevice[],
    private readonly retentionMs: number,
    private readonly journalFile?: string,
  ) {}

  get(deviceId: string): CommandBook | undefined {
    return this.books.get(deviceId);
  }

  entries(): IterableIterator<[string, CommandBook]> {
    return this.books.entries();
  }

  /** One book per device, rebuilt from the journal file; the file is rewritten with what is still kept, so it does not grow across runs. */
  open(): void {
    const ours = new Set(this.devices.map((d) => d.id));
    const records = new Map<string, JournalRecord[]>();
    for (const r of this.journalFile ? readJournal(this.journalFile) : []) {
      // Records of devices this connection no longer speaks for are dropped.
      if (r.deviceId === undefined || !ours.has(r.deviceId)) continue;
      const list = records.get(r.deviceId);
      if (list) list.push(r);
      else records.set(r.deviceId, [r]);
    }
    for (const d of this.devices) {
      this.books.set(d.id, new CommandBook(records.get(d.id) ?? [], (r) => this.journal?.append({ ...r, deviceId: d.id })));
    }
    this.sweep();
    if (!this.journalFile) return;
    rewriteJournal(
      this.journalFile,
      [...this.books].flatMap(([deviceId, book]) => book.snapshot().map((r) => ({ ...r, deviceId }))),
    );
    this.journal = new JournalFile(this.journalFile, false);
  }

  /** Forgets commands long past their expiry: the service never publishes them again. */
  sweep(): void {
    const cutoff = Date.now() - this.retentionMs;
    for (const book of this.books.values()) book.forgetExpired(cutoff);
  }

  halt(): void {
    for (const book of this.books.values()) book.halt();
  }

  /** Closed for good: a publish that completes after the stop journals nothing (the next start compacts the file). */
  close(): void {
    this.journal?.close();
    this.journal = undefined;
  }
}
