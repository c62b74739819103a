/**
 * The device side of the protocol for one device, as one pure state machine: what the device
 * knows about each command it received (its journal), and what it does with a command, a
 * repeat, a cancel request and the end of an execution. No MQTT, no disk, no clock (every step
 * is given `nowMs`): the reference agent (device-agent.ts) and the fleet simulator
 * (fleet-connection.ts) both drive one book per device, so their answers and their journals
 * cannot drift apart. They only choose *when* messages go out (protocol rule 5's quick result,
 * simulated lost acks) and how a handler runs.
 *
 * Every change is handed to `write` (the journal file, or nothing) *before* the step returns
 * what to send or run: a device that dies after any step finds on disk all it had decided.
 */
import { MAX_TTL_MS } from '../protocol/command-limits';
import type { AckMessage, CommandMessage, ResultMessage } from '../protocol/messages';
import { decideCancel, decideNewCommand, decideRepeat } from './command-decisions';

/** What the device knows about one command it received (rebuilt from its journal records). */
export interface JournalEntry {
  commandId: string;
  name: string;
  receivedAt: string;
  /** After this a copy of the command can no longer run, so the entry may be forgotten a while later. Absent in journals written before it was recorded. */
  expiresAtMs?: number;
  ack: AckMessage;
  /** Present once the command was executed (or answered without running). The first one is final. */
  result?: ResultMessage;
  /** How many times the handler started: the device rules say at most once. */
  executions: number;
  /** True once the broker acknowledged the result publish. */
  resultDelivered: boolean;
}

/**
 * One line of a journal. `deviceId` is present only in a file shared by several devices (a
 * fleet simulator's connection); the reference agent keeps one file per device. `at` is absent
 * in records rewritten by the simulator's compaction.
 */
export type JournalRecord =
  | { type: 'ack'; commandId: string; name: string; at: string; expiresAt?: string; ack: AckMessage; deviceId?: string }
  | { type: 'executing'; commandId: string; at?: string; deviceId?: string }
  | { type: 'result'; commandId: string; at?: string; result: ResultMessage; deviceId?: string }
  | { type: 'delivered'; commandId: string; at?: string; deviceId?: string };

export type Arrival =
  /** Seen before: send this stored ack again, then ask `repeat()` what else (it may have finished meanwhile). */
  | { kind: 'repeat'; ack: AckMessage }
  /**
   * Seen for the first time, and journaled: send `ack` (the device chooses when: rule 5 lets a
   * quick result stand for it), and run the command if `execute` (it counts as running already,
   * so a repeat arriving before the handler starts is not run a second time).
   */
  | { kind: 'new'; ack: AckMessage; execute: boolean };

export type SendResult = { kind: 'send-result'; result: ResultMessage };
/** What follows the stored ack of a repeat; undefined: nothing (it was rejected, or it runs and its result follows). */
export type RepeatAction = SendResult | { kind: 'execute' } | undefined;
export type CancelAction =
  | SendResult
  | { kind: 'send-ack'; ack: AckMessage }
  /**
   * Running: stop it if the work can stop, and report its end with `finished()` (`cancelled`
   * when it stopped). A device whose stop is not immediate sends `ack` meanwhile, so the
   * service knows it has the command and a result follows.
   */
  | { kind: 'stop'; ack: AckMessage };

export class CommandBook {
  private readonly entries = new Map<string, JournalEntry>();
  /** Commands whose execution is under way in this process (never journaled: a restart ends them all). */
  private readonly running = new Set<string>();

  /** `records`: the journal so far (e.g. read from disk); `write`: where each new record goes, before the book acts on it. */
  constructor(
    records: Iterable<JournalRecord> = [],
    private readonly write: (record: JournalRecord) => void = () => {},
  ) {
    for (const r of records) this.apply(r);
  }

  get(commandId: string): JournalEntry | undefined {
    return this.entries.get(commandId);
  }

  all(): JournalEntry[] {
    return [...this.entries.values()];
  }

  isRunning(commandId: string): boolean {
    return this.running.has(commandId);
  }

  /** A valid command arrived (first delivery, re-publish or QoS 1 redelivery). */
  receive(command: CommandMessage, nowMs: number, deviceReason: () => string | undefined): Arrival {
    const known = this.entries.get(command.commandId);
    if (known) return { kind: 'repeat', ack: known.ack };
    const { ack, execute } = decideNewCommand(command, nowMs, deviceReason);
    this.record({ type: 'ack', commandId: command.commandId, name: command.name, at: iso(nowMs), expiresAt: command.expiresAt, ack });
    if (execute) this.running.add(command.commandId);
    return { kind: 'new', ack, execute };
  }

  /** After the stored ack of a repeat went out: decided from the journal as it is now. */
  repeat(commandId: string, nowMs: number): RepeatAction {
    const known = this.entries.get(commandId);
    if (!known) return undefined;
    const decision = decideRepeat(commandId, known, this.running.has(commandId));
    switch (decision.kind) {
      case 'resend-result':
        return { kind: 'send-result', result: decision.result };
      case 'ack-only':
        return undefined;
      case 'run-now':
        this.running.add(commandId);
        return { kind: 'execute' };
      case 'report-interrupted':
        return { kind: 'send-result', result: this.finished(commandId, decision.result, nowMs) };
    }
  }

  /** The handler starts now (journaled first: a crash during it is visible after a restart). Returns the executions so far. */
  started(commandId: string, nowMs: number): number {
    this.record({ type: 'executing', commandId, at: iso(nowMs) });
    return this.entries.get(commandId)?.executions ?? 0;
  }

  /** The execution ended (or the command is answered without one): returns the result that stands, the first one recorded. */
  finished(commandId: string, result: ResultMessage, nowMs: number): ResultMessage {
    this.running.delete(commandId);
    const stored = this.entries.get(commandId)?.result;
    if (stored) return stored;
    this.record({ type: 'result', commandId, at: iso(nowMs), result });
    return result;
  }

  /** The broker acknowledged a result publish (journaled once: the result is never sent again at a start). */
  delivered(commandId: string, nowMs: number): void {
    const entry = this.entries.get(commandId);
    if (entry && !entry.resultDelivered) this.record({ type: 'delivered', commandId, at: iso(nowMs) });
  }

  /**
   * A cancel request (docs/protocol.md, "cancel"): the answer is always the truth about the
   * command, `cancelled` only when it did not run and now never will.
   */
  cancel(commandId: string, nowMs: number): { decision: ReturnType<typeof decideCancel>['kind']; action: CancelAction } {
    const decision = decideCancel(commandId, this.entries.get(commandId), this.running.has(commandId));
    const act = (action: CancelAction) => ({ decision: decision.kind, action });
    switch (decision.kind) {
      case 'cancel-unseen':
        // Journaled as rejected first, kept as long as a copy could still arrive (its expiresAt
        // is not known here): a copy still on its way is answered, never run.
        this.record({ type: 'ack', commandId, name: '', at: iso(nowMs), expiresAt: iso(nowMs + MAX_TTL_MS), ack: decision.ack });
        return act({ kind: 'send-result', result: this.finished(commandId, decision.result, nowMs) });
      case 'cancel-unstarted':
      case 'report-interrupted':
        return act({ kind: 'send-result', result: this.finished(commandId, decision.result, nowMs) });
      case 'resend-result':
        return act({ kind: 'send-result', result: decision.result });
      case 'resend-ack':
        return act({ kind: 'send-ack', ack: decision.ack });
      case 'stop-running':
        return act({ kind: 'stop', ack: decision.ack });
    }
  }

  /** Results journaled but never acknowledged by the broker (lost at a crash): to send again at the next connect. */
  undelivered(): Array<{ commandId: string; result: ResultMessage }> {
    return this.all().flatMap((e) => (e.result && !e.resultDelivered ? [{ commandId: e.commandId, result: e.result }] : []));
  }

  /** Every execution under way is abandoned, as at a power cut: a repeat later reports `interrupted`. */
  halt(): void {
    this.running.clear();
  }

  /** Forgets commands that expired before `cutoffMs`: the service never publishes them again. */
  forgetExpired(cutoffMs: number): void {
    for (const [id, e] of this.entries) if (e.expiresAtMs !== undefined && e.expiresAtMs < cutoffMs && !this.running.has(id)) this.entries.delete(id);
  }

  /** The fewest records that rebuild this book: a journal rewritten with them stops growing. */
  snapshot(): JournalRecord[] {
    return this.all().flatMap((e): JournalRecord[] => {
      const { commandId } = e;
      const ack: JournalRecord = { type: 'ack', commandId, name: e.name, at: e.receivedAt, ack: e.ack };
      if (e.expiresAtMs !== undefined) ack.expiresAt = iso(e.expiresAtMs);
      return [
        ack,
        ...Array.from({ length: e.executions }, (): JournalRecord => ({ type: 'executing', commandId })),
        ...(e.result ? [{ type: 'result', commandId, result: e.result } as const] : []),
        ...(e.resultDelivered ? [{ type: 'delivered', commandId } as const] : []),
      ];
    });
  }

  private record(r: JournalRecord): void {
    this.write(r);
    this.apply(r);
  }

  /** A record into the state: an `ack` starts a new entry, the others change an entry (a record for an unknown command is ignored). */
  private apply(r: JournalRecord): void {
    if (r.type === 'ack') {
      const expiresAtMs = r.expiresAt === undefined ? undefined : Date.parse(r.expiresAt);
      this.entries.set(r.commandId, {
        commandId: r.commandId,
        name: r.name,
        receivedAt: r.at,
        ...(expiresAtMs === undefined ? {} : { expiresAtMs }),
        ack: r.ack,
        executions: 0,
        resultDelivered: false,
      });
      return;
    }
    const entry = this.entries.get(r.commandId);
    if (!entry) return;
    if (r.type === 'executing') entry.executions++;
    else if (r.type === 'result') entry.result ??= r.result;
    else entry.resultDelivered = true;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
