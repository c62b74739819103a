/**
 * Pure state logic of one command: no Temporal API, no I/O, no clock (time is passed in), so
 * it is unit-tested on its own and used unchanged inside the workflow.
 */
import { PUBLISH_FAILURE_TYPES, type CommandSnapshot, type DeviceMessage, type HistoryEntry } from '../protocol/command-contract';
import { ALLOWED_TRANSITIONS, isTerminal, type CommandState } from '../protocol/command-state';

/** A flood of duplicates must not grow workflow state without bound. */
export const MAX_HISTORY_ENTRIES = 200;

export function newRecord(init: Pick<CommandSnapshot, 'commandId' | 'deviceId' | 'name' | 'params' | 'expiresAt' | 'rolloutId'>, at: string): CommandSnapshot {
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
export function transition(record: CommandSnapshot, to: CommandState, at: string, event: string, reason?: string): CommandSnapshot {
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
  // A device that answers `cancelled` never ran the command (or stopped it before it took
  // effect), whether or not it acknowledged it first: no ack is implied.
  if (result.status === 'cancelled') {
    return transition(r, 'Cancelled', at, 'cancel-confirmed', 'the device confirmed the cancel: it did not execute the command and will not');
  }
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

/** Prefix of the reason of a command refused because its input was invalid. */
export const INVALID_REQUEST = 'invalid request';

/**
 * The record of a command whose input failed validation (protocol/validate-command-request.ts):
 * `Rejected` at once, nothing published. Built from whatever fields look usable, so the
 * snapshot still says which command and device it was about; `fallbackCommandId` (from the
 * workflow ID) stands in for a commandId that is not a string.
 */
export function invalidRequestRecord(input: unknown, reason: string, at: string, fallbackCommandId: string): CommandSnapshot {
  const i = (typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {}) as Record<string, unknown>;
  const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
  const created = newRecord(
    {
      commandId: typeof i.commandId === 'string' ? i.commandId.slice(0, 128) : fallbackCommandId,
      deviceId: text(i.deviceId, 64),
      name: text(i.name, 64),
      // Params are not kept: unchecked, they may be too big or too deep to serialize again.
      params: {},
      expiresAt: text(i.expiresAt, 64),
      ...(typeof i.rolloutId === 'string' ? { rolloutId: i.rolloutId.slice(0, 63) } : {}),
    },
    at,
  );
  return transition(created, 'Rejected', at, 'invalid-request', reason);
}

/** What the workflow knows of a publish that failed for good (a non-retryable ActivityFailure). */
export interface PublishFailure {
  /** The ApplicationFailure type from the activity (PUBLISH_FAILURE_TYPES), if any. */
  type?: string;
  message: string;
  /** The workflow's clock says the command has expired. */
  expired: boolean;
}

/**
 * The terminal state after the publish of an attempt failed for good (retryable failures are
 * retried by Temporal until the command expires):
 * - expired (the activity says so, or our clock does): `Expired`. Nothing is published after
 *   expiresAt, and a device must not execute it later.
 * - refused (the broker answered PUBACK >= 0x80, or it could not be encoded) while nothing has
 *   reached the broker (`Created`): `Rejected` with the reason ("refused by the broker: ...",
 *   "refused before publishing: ..."): not executed.
 * - otherwise (refused after an earlier attempt reached the broker, or an unknown failure):
 *   `TimedOut`: we stop waiting, and the device may have the command and still execute it.
 */
export function endAfterPublishFailure(record: CommandSnapshot, failure: PublishFailure, at: string): CommandSnapshot {
  const refused = failure.type === PUBLISH_FAILURE_TYPES.refused;
  if (failure.type === PUBLISH_FAILURE_TYPES.expired || (failure.expired && !refused)) {
    return transition(record, 'Expired', at, 'publish-failed', `could not publish before expiry: ${failure.message}`);
  }
  if (refused && record.state === 'Created') return transition(record, 'Rejected', at, 'publish-refused', failure.message);
  const why = record.state === 'Created' ? 'the publish may have reached the broker' : 'an earlier attempt reached the broker';
  return transition(record, 'TimedOut', at, refused ? 'publish-refused' : 'publish-failed', `${failure.message}; ${why}, the device may still execute it`);
}
