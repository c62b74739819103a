import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { AckMessage, ResultMessage } from '../protocol/messages';

/** What the device knows about one command it received. */
export interface JournalEntry {
  commandId: string;
  name: string;
  receivedAt: string;
  ack: AckMessage;
  /** Present once the command was executed. */
  result?: ResultMessage;
  /** How many times the handler ran: the device rules say at most once. */
  executions: number;
  /** True once the broker acknowledged the result publish. */
  resultDelivered: boolean;
}

type JournalRecord =
  | { type: 'ack'; commandId: string; name: string; at: string; ack: AckMessage }
  | { type: 'executing'; commandId: string; at: string }
  | { type: 'result'; commandId: string; at: string; result: ResultMessage }
  | { type: 'delivered'; commandId: string; at: string };

/**
 * The device's memory of commands, on disk: an append-only JSON-lines file, written
 * synchronously before the device acts on it (before the ack, before running the handler),
 * so a device that dies at any moment never executes a command twice and can re-send what
 * it already answered. A torn last line (crash mid-write) is ignored on load.
 *
 * Each record is fsynced before the device acts on it (`durable`, the default): without it a
 * power cut can lose the last records the OS had not yet written, and the device would run the
 * command again when it is repeated. The cost is one fsync per record, three or four per
 * command (docs/protocol.md, "The reference agent", has the measured figure).
 * A command's first result is final: a later result record never replaces it.
 */
export class CommandJournal {
  private readonly entries = new Map<string, JournalEntry>();
  readonly file: string;

  private fd?: number;

  constructor(
    dir: string,
    deviceId: string,
    private readonly durable = true,
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `${deviceId}.journal.jsonl`);
    if (existsSync(this.file)) this.load();
  }

  private load(): void {
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let record: JournalRecord;
      try {
        record = JSON.parse(line);
      } catch {
        continue; // torn write at a crash
      }
      this.apply(record);
    }
  }

  private apply(r: JournalRecord): void {
    if (r.type === 'ack') {
      this.entries.set(r.commandId, { commandId: r.commandId, name: r.name, receivedAt: r.at, ack: r.ack, executions: 0, resultDelivered: false });
      return;
    }
    const entry = this.entries.get(r.commandId);
    if (!entry) return;
    if (r.type === 'executing') entry.executions++;
    else if (r.type === 'result') entry.result ??= r.result;
    else entry.resultDelivered = true;
  }

  private append(r: JournalRecord): void {
    this.fd ??= openSync(this.file, 'a');
    writeSync(this.fd, JSON.stringify(r) + '\n');
    if (this.durable) fsyncSync(this.fd);
    this.apply(r);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  get(commandId: string): JournalEntry | undefined {
    return this.entries.get(commandId);
  }

  all(): JournalEntry[] {
    return [...this.entries.values()];
  }

  recordAck(commandId: string, name: string, ack: AckMessage): void {
    this.append({ type: 'ack', commandId, name, at: new Date().toISOString(), ack });
  }

  /** Written before the handler runs: a crash during execution is then visible on restart. */
  recordExecuting(commandId: string): void {
    this.append({ type: 'executing', commandId, at: new Date().toISOString() });
  }

  /** False (and nothing written) when the command already has a result: the first one stands. */
  recordResult(commandId: string, result: ResultMessage): boolean {
    if (this.entries.get(commandId)?.result) return false;
    this.append({ type: 'result', commandId, at: new Date().toISOString(), result });
    return true;
  }

  recordDelivered(commandId: string): void {
    this.append({ type: 'delivered', commandId, at: new Date().toISOString() });
  }
}
