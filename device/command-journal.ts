import path from 'node:path';
import { CommandBook, type JournalEntry } from './command-book';
import { JournalFile, readJournal } from './journal-file';

export type { JournalEntry };

/**
 * The reference agent's memory of commands: its command book (command-book.ts), kept in its
 * own file `<dir>/<deviceId>.journal.jsonl`, fsynced record by record (`durable`, the default)
 * and never rewritten, so a device that dies at any moment never executes a command twice and
 * can re-send what it already answered. The chaos test reads these files as they are
 * (test/chaos/journal-reader.ts).
 */
export class CommandJournal {
  readonly file: string;
  readonly book: CommandBook;
  private readonly out: JournalFile;

  constructor(dir: string, deviceId: string, durable = true) {
    this.file = path.join(dir, `${deviceId}.journal.jsonl`);
    this.out = new JournalFile(this.file, durable);
    this.book = new CommandBook(readJournal(this.file), (r) => this.out.append(r));
  }

  get(commandId: string): JournalEntry | undefined {
    return this.book.get(commandId);
  }

  all(): JournalEntry[] {
    return this.book.all();
  }

  close(): void {
    this.out.close();
  }
}
