/**
 * The device side of the protocol (docs/protocol.md, "Device rules") as pure decisions: no
 * MQTT, no disk, no clock (time is passed in). The reference agent (device-agent.ts) and the
 * fleet simulator (fleet-simulator.ts) both act on these, so their answers cannot drift apart.
 */
import { PROTOCOL_VERSION, type AckMessage, type CommandMessage, type ResultMessage } from '../protocol/messages';

/** Why a command is not run, in the order the rules check it; undefined: accept it. */
export function rejectionOf(command: CommandMessage, nowMs: number, deviceReason: () => string | undefined): string | undefined {
  // Rule 3: at or after expiresAt it must not run, and the reason is exactly `expired`.
  if (Date.parse(command.expiresAt) <= nowMs) return 'expired';
  return deviceReason();
}

/** A command seen for the first time: the ack to journal and send, and whether to run it. */
export function decideNewCommand(command: CommandMessage, nowMs: number, deviceReason: () => string | undefined): { ack: AckMessage; execute: boolean } {
  const reason = rejectionOf(command, nowMs, deviceReason);
  const ack: AckMessage = reason
    ? { v: PROTOCOL_VERSION, commandId: command.commandId, status: 'rejected', reason }
    : { v: PROTOCOL_VERSION, commandId: command.commandId, status: 'accepted' };
  return { ack, execute: reason === undefined };
}

/**
 * Rule 5's shortcut: a command whose result is ready within `quickResultMs` of its arrival is
 * answered with the result alone (a result counts as ack and result). One message instead of
 * two for the device's link and the broker, and one signal and one workflow task fewer for the
 * service. 0 turns it off (always ack first).
 */
export function resultIsQuick(elapsedMs: number, quickResultMs: number): boolean {
  return quickResultMs > 0 && elapsedMs <= quickResultMs;
}

/** For a device that uses the shortcut: 100 ms hides no progress a person or a rollout would miss. */
export const SUGGESTED_QUICK_RESULT_MS = 100;

/** What the journal holds for a command the device has seen before. */
export interface KnownCommand {
  ack: AckMessage;
  result?: ResultMessage;
  /** Executions started (journaled before the handler ran). */
  executions: number;
}

export type RepeatDecision =
  /** Finished: send the stored result again (the first result is final). */
  | { kind: 'resend-result'; result: ResultMessage }
  /** Rejected, or running right now (its result follows): the ack was all. */
  | { kind: 'ack-only' }
  /** Accepted but never started (the device stopped in between): run it now, once. */
  | { kind: 'run-now' }
  /** Started before a restart, no result: its effect is unknown; report it, never run again. */
  | { kind: 'report-interrupted'; result: ResultMessage };

/**
 * A repeat (re-publish or QoS 1 redelivery): the stored ack is sent again first; then this,
 * decided from the journal as it is *after* that ack went out (the first execution may have
 * finished meanwhile, and its real result must be what the repeat gets).
 */
export function decideRepeat(commandId: string, known: KnownCommand, running: boolean): RepeatDecision {
  if (known.result) return { kind: 'resend-result', result: known.result };
  if (known.ack.status !== 'accepted' || running) return { kind: 'ack-only' };
  if (known.executions === 0) return { kind: 'run-now' };
  return { kind: 'report-interrupted', result: interruptedResult(commandId) };
}

export const INTERRUPTED_MESSAGE = 'the device restarted while executing the command';

function interruptedResult(commandId: string): ResultMessage {
  return { v: PROTOCOL_VERSION, commandId, status: 'failed', error: { code: 'interrupted', message: INTERRUPTED_MESSAGE } };
}

/** The `reason` of the ack a device journals for a command cancelled before it arrived. */
export const CANCELLED_BEFORE_RECEIPT = 'cancelled';

export type CancelDecision =
  /**
   * Never seen: journal it as cancelled (an ack `rejected`, reason `cancelled`, and the result)
   * so that a copy still on its way is never run, and answer `cancelled`.
   */
  | { kind: 'cancel-unseen'; ack: AckMessage; result: ResultMessage }
  /** Accepted but never started (the device stopped in between): journal and answer `cancelled`. */
  | { kind: 'cancel-unstarted'; result: ResultMessage }
  /** Running: stop it if the handler can (its result then says `cancelled`); re-send the ack meanwhile. */
  | { kind: 'stop-running'; ack: AckMessage }
  /** Finished: too late; the stored result is the real outcome. */
  | { kind: 'resend-result'; result: ResultMessage }
  /** Rejected: it never ran; the stored ack is the real outcome. */
  | { kind: 'resend-ack'; ack: AckMessage }
  /** Started before a restart, no result: its effect is unknown, so not `cancelled`: journal and report it interrupted. */
  | { kind: 'report-interrupted'; result: ResultMessage };

/**
 * A cancel request (docs/protocol.md, "cancel") for `commandId`, decided from the journal. The
 * answer is always the truth about the command: `cancelled` only when it did not run and now
 * never will, else its real outcome.
 */
export function decideCancel(commandId: string, known: KnownCommand | undefined, running: boolean): CancelDecision {
  const cancelled: ResultMessage = { v: PROTOCOL_VERSION, commandId, status: 'cancelled' };
  if (!known)
    return { kind: 'cancel-unseen', ack: { v: PROTOCOL_VERSION, commandId, status: 'rejected', reason: CANCELLED_BEFORE_RECEIPT }, result: cancelled };
  if (known.result) return { kind: 'resend-result', result: known.result };
  if (known.ack.status !== 'accepted') return { kind: 'resend-ack', ack: known.ack };
  if (running) return { kind: 'stop-running', ack: known.ack };
  if (known.executions > 0) return { kind: 'report-interrupted', result: interruptedResult(commandId) };
  return { kind: 'cancel-unstarted', result: cancelled };
}
