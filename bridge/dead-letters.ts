import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../config/logger';
import { parseDeviceTopic } from '../protocol/topics';
import { REJECT_REASONS, type RejectReason } from './parse-device-message';

/**
 * Why the bridge did not (usefully) deliver a device message. The first six are decided by
 * parseDeviceMessage from the message alone. Then, for acks and results:
 * - `rate-limited`: the device sent more than its budget (bridge/device-rate-limiter.ts);
 * - `unknown-command`: no command has that ID (never existed);
 * - `spoofed`: the command belongs to another device than the topic's; not signalled;
 * - `closed-command`: no longer produced (a late answer is attached to its command as
 *   `late-<commandId>`, protocol/late-answers-contract.ts); kept so older files still read;
 * - `signal-refused`: Temporal refused the signal for good (e.g. the execution's signal limit);
 * - `signal-failed`: Temporal stayed unavailable for longer than the bridge's retry budget.
 */
export type DeadLetterReason = RejectReason | BridgeDeadLetterReason;
export const BRIDGE_DEAD_LETTER_REASONS = ['rate-limited', 'unknown-command', 'spoofed', 'closed-command', 'signal-refused', 'signal-failed'] as const;
export type BridgeDeadLetterReason = (typeof BRIDGE_DEAD_LETTER_REASONS)[number];
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [...REJECT_REASONS, ...BRIDGE_DEAD_LETTER_REASONS];

/** Where `dco bridge` keeps its dead letters unless told otherwise (flag or DCO_DEADLETTER_DIR). */
export const DEFAULT_DEADLETTER_DIR = path.join('.data', 'deadletters');

/** One rejected message, as kept for inspection. */
export interface DeadLetter {
  /** 1, 2, 3 ... per directory, never reused: tells which entries the summary already counts. */
  seq: number;
  receivedAt: string;
  reason: DeadLetterReason;
  detail: string;
  /** The topic, at most TOPIC_KEPT characters. */
  topic: string;
  /** The device the topic names, when it names a valid one. */
  deviceId?: string;
  commandId?: string;
  /** Size of the whole payload. */
  payloadBytes: number;
  /** Its first `keepPayloadBytes` bytes: as text when they are valid UTF-8, else base64. */
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  payloadTruncated: boolean;
}
export type DeadLetterInput = Omit<DeadLetter, 'seq'>;

const TOPIC_KEPT = 256;
const DETAIL_KEPT = 500;
export const DEFAULT_KEEP_PAYLOAD_BYTES = 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keep a BOM: it is then stored as base64

/**
 * Builds the record of a rejected message. Never throws, for any topic and bytes: the payload
 * is cut to `keepPayloadBytes` (at a character boundary when it is text) and kept as UTF-8
 * text if it is printable text, else as base64.
 */
export function deadLetterOf(
  topic: string,
  payload: Uint8Array,
  reason: DeadLetterReason,
  detail: string,
  o: { prefix?: string; receivedAt?: string; commandId?: string; keepPayloadBytes?: number } = {},
): DeadLetterInput {
  const keep = o.keepPayloadBytes ?? DEFAULT_KEEP_PAYLOAD_BYTES;
  const head = payload.subarray(0, keep);
  const truncated = payload.byteLength > head.byteLength;
  const text = printableText(head, truncated);
  const deviceId = o.prefix !== undefined ? parseDeviceTopic(o.prefix, topic)?.deviceId : undefined;
  return {
    receivedAt: o.receivedAt ?? new Date().toISOString(),
    reason,
    detail: detail.slice(0, DETAIL_KEPT),
    topic: topic.slice(0, TOPIC_KEPT),
    ...(deviceId ? { deviceId } : {}),
    ...(o.commandId ? { commandId: o.commandId } : {}),
    payloadBytes: payload.byteLength,
    ...(text !== undefined
      ? { payload: text, payloadEncoding: 'utf8' as const }
      : { payload: Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('base64'), payloadEncoding: 'base64' as const }),
    payloadTruncated: truncated,
  };
}

/** The bytes as text if they are valid UTF-8 without control characters (tabs and newlines allowed). */
function printableText(bytes: Uint8Array, cut: boolean): string | undefined {
  // A cut may split the last character: drop up to 3 bytes of an incomplete sequence.
  for (let drop = 0; drop <= (cut ? 3 : 0) && drop <= bytes.byteLength; drop++) {
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(0, bytes.byteLength - drop));
    } catch {
      continue;
    }
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff]/.test(text) ? undefined : text;
  }
  return undefined;
}

export type DeadLetterTotals = Record<DeadLetterReason, number>;

export function emptyTotals(): DeadLetterTotals {
  return Object.fromEntries(DEAD_LETTER_REASONS.map((r) => [r, 0])) as DeadLetterTotals;
}

/** `summary.json`: totals over every dead letter ever recorded in the directory. */
interface Summary {
  version: 1;
  /** Entries up to this seq are counted in `totals`; later ones are still in the files. */
  lastSeq: number;
  totals: Partial<Record<string, number>>;
  firstAt?: string;
  lastAt?: string;
  updatedAt: string;
}

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

const CURRENT = 'deadletters.jsonl';
const rotated = (n: number) => `deadletters.${n}.jsonl`;
const SUMMARY = 'summary.json';

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
      this.o.logger?.error({ err: String(err), dir: this.o.dir, writeErrors: this.writeErrors }, 'cannot write the dead-letter record; dead letters are still counted and logged');
    }
  }

  private log(letter: DeadLetter): void {
    const logger = this.o.logger;
    if (!logger) return;
    const now = Date.now();
    const w = this.logWindow;
    if (now - w.startedAt >= 60_000) {
      if (w.suppressed > 0) logger.warn({ suppressed: w.suppressed, totals: this.totals() }, 'more dead letters were not logged in the last minute; see `dco deadletters`');
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
function readState(dir: string): { totals: DeadLetterTotals; lastSeq: number; firstAt?: string; lastAt?: string; latest: DeadLetter[]; kept: number } {
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
