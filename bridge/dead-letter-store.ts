import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../config/logger';
import { CURRENT, readState, rotated, SUMMARY, type Summary } from './dead-letter-files';
import { emptyTotals, type DeadLetter, type DeadLetterInput, type DeadLetterTotals } from './dead-letter-record';

export interface DeadLetterStoreOptions {
  /** Directory of the record; without one, dead letters are only counted and kept in memory. */
  dir?: string;
  /** The current file is rotated when it would grow past this (default 4 MiB). */
  maxFileBytes?: number;
  /** Rotated files kept besides the current one (default 2); older entries are deleted, their counts stay. */
  keepFiles?: number;
  /** Payload bytes kept per entry (default 1024). */
  keepPayloadBytes?: number;
  /** How often the summary is written when something changed (default 1 s); also at rotation and close. */
  summaryIntervalMs?: number;
  /** Latest entries kept in memory for `latest()` (default 100). */
  memoryEntries?: number;
  /** Logs each dead letter at warn, at most `logPerMinute` a minute (default 60), then a count of the rest. */
  logger?: Logger;
  logPerMinute?: number;
}

/**
 * A bounded, append-only record of rejected device messages: one JSON line per message in
 * `deadletters.jsonl`, rotated to `deadletters.1.jsonl` … `deadletters.<keepFiles>.jsonl` by
 * size, so at most (keepFiles + 1) × maxFileBytes stay on disk. Totals per reason live in
 * `summary.json` and stay exact when old entries are rotated away: each entry carries a
 * sequence number, the summary says up to which one it counted, and whatever came after (the
 * last second before a crash) is counted again from the files when the store or a reader opens
 * them. The summary is written before every rotation, so no uncounted entry is ever deleted.
 *
 * One writer per directory (one bridge process). Writing never throws: a full disk is logged
 * and counted in `writeErrors`, and the bridge carries on.
 */
export class DeadLetterStore {
  private readonly totalsByReason = emptyTotals();
  private readonly recent: DeadLetter[] = [];
  private seq = 0;
  private firstAt?: string;
  private lastAt?: string;
  private fd?: number;
  private fileBytes = 0;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private logWindow = { startedAt: 0, logged: 0, suppressed: 0 };
  writeErrors = 0;

  constructor(private readonly o: DeadLetterStoreOptions = {}) {
    if (!o.dir) return;
    mkdirSync(o.dir, { recursive: true });
    const state = readState(o.dir);
    Object.assign(this.totalsByReason, state.totals);
    this.seq = state.lastSeq;
    this.firstAt = state.firstAt;
    this.lastAt = state.lastAt;
    this.recent.push(...state.latest.slice(-this.memoryEntries));
    const file = path.join(o.dir, CURRENT);
    this.fd = openSync(file, 'a');
    this.fileBytes = fstatSync(this.fd).size;
    // A crash in the middle of a line leaves it unterminated: end it, readers skip it.
    if (this.fileBytes > 0 && !readFileSync(file).subarray(-1).equals(Buffer.from('\n'))) this.append('\n');
    this.writeSummary();
    this.timer = setInterval(() => this.dirty && this.writeSummary(), o.summaryIntervalMs ?? 1_000);
    this.timer.unref();
  }

  private get memoryEntries(): number {
    return this.o.memoryEntries ?? 100;
  }

  /** Records one dead letter: counted, logged, appended. Returns it with its sequence number. */
  add(input: DeadLetterInput): DeadLetter {
    const letter: DeadLetter = { seq: ++this.seq, ...input };
    this.totalsByReason[letter.reason] = (this.totalsByReason[letter.reason] ?? 0) + 1;
    this.firstAt ??= letter.receivedAt;
    this.lastAt = letter.receivedAt;
    this.recent.push(letter);
    if (this.recent.length > this.memoryEntries) this.recent.shift();
    this.log(letter);
    if (this.fd === undefined) return letter;
    const line = JSON.stringify(letter) + '\n';
    const bytes = Buffer.byteLength(line);
    if (this.fileBytes > 0 && this.fileBytes + bytes > (this.o.maxFileBytes ?? 4 * 1024 * 1024)) this.rotate();
    this.append(line);
    this.dirty = true;
    return letter;
  }

  /** Counts per reason since the directory was created (or since start, without a directory). */
  totals(): DeadLetterTotals {
    return { ...this.totalsByReason };
  }

  total(): number {
    return Object.values(this.totalsByReason).reduce((a, b) => a + b, 0);
  }

  /** The latest `n` entries, oldest first. */
  latest(n = 20): DeadLetter[] {
    return this.recent.slice(-n);
  }

  /** Writes the summary now (the store also does it every second and at rotation). */
  flush(): void {
    if (this.fd !== undefined) this.writeSummary();
  }

  close(): void {
    clearInterval(this.timer);
    if (this.fd === undefined) return;
    this.writeSummary();
    closeSync(this.fd);
    this.fd = undefined;
  }

  private append(text: string): void {
    try {
      writeSync(this.fd!, text);
      this.fileBytes += Buffer.byteLength(text);
    } catch (err) {
      this.writeFailed(err);
    }
  }

  private rotate(): void {
    const dir = this.o.dir!;
    this.writeSummary(); // first: every entry about to be deleted is counted
    try {
      closeSync(this.fd!);
      const keep = this.o.keepFiles ?? 2;
      rmSync(path.join(dir, rotated(keep)), { force: true });
      for (let n = keep - 1; n >= 1; n--) {
        if (existsSync(path.join(dir, rotated(n)))) renameSync(path.join(dir, rotated(n)), path.join(dir, rotated(n + 1)));
      }
      if (keep >= 1) renameSync(path.join(dir, CURRENT), path.join(dir, rotated(1)));
      else rmSync(path.join(dir, CURRENT), { force: true });
    } catch (err) {
      this.writeFailed(err);
    }
    try {
      this.fd = openSync(path.join(dir, CURRENT), 'a');
      this.fileBytes = fstatSync(this.fd).size;
    } catch (err) {
      this.fd = undefined; // from now on counted and logged only
      this.writeFailed(err);
    }
  }

  private writeSummary(): void {
    const summary: Summary = {
      version: 1,
      lastSeq: this.seq,
      totals: this.totals(),
      ...(this.firstAt ? { firstAt: this.firstAt } : {}),
      ...(this.lastAt ? { lastAt: this.lastAt } : {}),
      updatedAt: new Date().toISOString(),
    };
    const file = path.join(this.o.dir!, SUMMARY);
    try {
      // Write then rename: a reader (or a crash) never sees half a summary.
      writeFileSync(`${file}.tmp`, JSON.stringify(summary, null, 2) + '\n');
      renameSync(`${file}.tmp`, file);
      this.dirty = false;
    } catch (err) {
      this.writeFailed(err);
    }
  }

  private writeFailed(err: unknown): void {
    this.writeErrors++;
    if (this.writeErrors === 1 || this.writeErrors % 1000 === 0) {
      this.o.logger?.error(
        { err: String(err), dir: this.o.dir, writeErrors: this.writeErrors },
        'cannot write the dead-letter record; dead letters are still counted and logged',
      );
    }
  }

  private log(letter: DeadLetter): void {
    const logger = this.o.logger;
    if (!logger) return;
    const now = Date.now();
    const w = this.logWindow;
    if (now - w.startedAt >= 60_000) {
      if (w.suppressed > 0)
        logger.warn({ suppressed: w.suppressed, totals: this.totals() }, 'more dead letters were not logged in the last minute; see `dco deadletters`');
      this.logWindow = { startedAt: now, logged: 0, suppressed: 0 };
    }
    if (this.logWindow.logged >= (this.o.logPerMinute ?? 60)) {
      this.logWindow.suppressed++;
      return;
    }
    this.logWindow.logged++;
    const { payload: _payload, ...rest } = letter;
    logger.warn(rest, `dead letter: ${letter.reason}`);
  }
}
