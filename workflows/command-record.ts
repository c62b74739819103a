/**
 * Pure state logic of one command: no Temporal API, no I/O, no clock (time is passed in), so
 * it is unit-tested on its own and used unchanged inside the workflow.
 */
import type { CommandSnapshot, DeviceMessage, HistoryEntry } from '../protocol/command-contract';
import { ALLOWED_TRANSITIONS, isTerminal, type CommandState } from '../protocol/command-state';

/** A flood of duplicates must not grow workflow state without bound. */
export const MAX_HISTORY_ENTRIES = 200;

export function newRecord(
  init: Pick<CommandSnapshot, 'commandId' | 'deviceId' | 'name' | 'params' | 'expiresAt' | 'rolloutId'>,
  at: string,
): CommandSnapshot {
  return {
    ...init,
    state: 'Created',
    attempts: 0,
    createdAt: at,
    history: [{ at, event: 'created', state: 'Created', attempt: 0 }],
    historyDropped: 0,
  };
}

function appendHistory(record: CommandSnapshot, entry: HistoryEntry): CommandSnapshot {
  const history = [...record.history, entry];
  let dropped = record.historyDropped;
  // Keep the first entry (creation) and the newest ones.
  while (history.length > MAX_HISTORY_ENTRIES) {
    history.splice(1, 1);
    dropped++;
  }
  return { ...record, history, historyDropped: dropped };
}

export class IllegalTransitionError extends Error {
  constructor(from: CommandState, to: CommandState) {
    super(`illegal command transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** Moves to `to`, recording why. Throws on a transition the lifecycle does not allow. */
export function transition(
  record: CommandSnapshot,
  to: CommandState,
  at: string,
  event: string,
  reason?: string,
): CommandSnapshot {
  if (!ALLOWED_TRANSITIONS[record.state].includes(to)) throw new IllegalTransitionError(record.state, to);
  const next = appendHistory(record, { at, event, state: to, attempt: record.attempts, ...(reason ? { reason } : {}) });
  return { ...next, state: to, ...(reason !== undefined ? { reason } : {}) };
}

/** Records something that happened without changing state (duplicates, late messages, retries). */
export function note(record: CommandSnapshot, at: string, event: string, reason?: string): CommandSnapshot {
  return appendHistory(record, { at, event, state: record.state, attempt: record.attempts, ...(reason ? { reason } : {}) });
}

/** A publish of attempt number `attempt` is about to start. */
export function startAttempt(record: CommandSnapshot, attempt: number): CommandSnapshot {
  return { ...record, attempts: attempt };
}

/** The broker acknowledged the publish (PUBACK) of the current attempt. */
export function recordPublished(record: CommandSnapshot, at: string): CommandSnapshot {
  if (record.state === 'Created' || record.state === 'Sent') return transition(record, 'Sent', at, 'published');
  // The device answered before the PUBACK reached us (or this was a re-send after the ack).
  return note(record, at, 'published');
}

/**
 * Applies an ack or result from a device. Idempotent: a duplicate, a late message, an
 * out-of-order one, or one from the wrong device is recorded and changes nothing.
 * A result without a prior ack counts as both (the ack may have been lost).
 * `at` is the workflow's clock, so the history is ordered by one clock only.
 */
export function applyDeviceMessage(record: CommandSnapshot, m: DeviceMessage, at: string): CommandSnapshot {
  if (m.deviceId !== record.deviceId) {
    return note(record, at, `ignored-${m.kind}`, `sent on the topic of device ${m.deviceId}, not ${record.deviceId}`);
  }
  if (m.message.commandId !== record.commandId) {
    return note(record, at, `ignored-${m.kind}`, `for command ${m.message.commandId}`);
  }
  if (isTerminal(record.state)) {
    return note(record, at, `late-${m.kind}`, `${m.kind} ${m.message.status} after ${record.state}`);
  }
  // An answer from the device proves the command reached it, even if our PUBACK is not in yet.
  let r = record.state === 'Created' ? transition(record, 'Sent', at, `sent-confirmed-by-${m.kind}`) : record;
  if (m.kind === 'ack') {
    const ack = m.message;
    if (r.state === 'Acknowledged') return note(r, at, 'duplicate-ack', `ack ${ack.status}`);
    if (ack.status === 'accepted') return transition(r, 'Acknowledged', at, 'ack-accepted');
    // A device that received the command too late rejects it as expired: say so precisely.
    const to = ack.reason === 'expired' ? 'Expired' : 'Rejected';
    return transition(r, to, at, 'ack-rejected', ack.reason || 'rejected by device');
  }
  const result = m.message;
  if (r.state !== 'Acknowledged') r = transition(r, 'Acknowledged', at, 'ack-implied-by-result');
  if (result.status === 'succeeded') {
    return { ...transition(r, 'Succeeded', at, 'result-succeeded'), ...(result.output ? { output: result.output } : {}) };
  }
  const error = result.error ?? { code: 'unknown', message: 'device reported failure without details' };
  return {
    ...transition(r, 'Failed', at, 'result-failed', `${error.code}: ${error.message}`),
    error,
    ...(result.output ? { output: result.output } : {}),
  };
}
