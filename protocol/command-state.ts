/**
 * The life of one device command. Every transition is explicit (see ALLOWED_TRANSITIONS) and
 * recorded; a terminal state never changes again, whatever arrives later. Every command ends
 * in one of the six terminal states, never as a failed Temporal workflow, and each says
 * exactly what is known about the device (docs/protocol.md, "What the service does"):
 */
export const COMMAND_STATES = [
  'Created', // the workflow exists, nothing published yet
  'Sent', // the broker accepted the publish (PUBACK); the device may or may not have it
  'Acknowledged', // the device confirmed receipt and accepted the command
  // ---- terminal ----
  'Succeeded', // executed: the device reported success
  // Not executed. Either the device refused it (ack rejected, its reason kept), or it was
  // refused before reaching any device: `invalid request: ...` (the input failed validation,
  // nothing published) or `refused by the broker: ...` / `refused before publishing: ...`
  // (the first publish was refused; nothing reached the broker).
  'Rejected',
  'Failed', // executed: the device reported failure (its error kept)
  // The service stopped waiting; the device MAY still have the command and execute it before
  // expiresAt: no ack after every attempt, no result in time after the ack, or publishing
  // stopped for good after an earlier attempt had reached the broker.
  'TimedOut',
  // The time to live passed: nothing is published after expiresAt, and the device will not
  // execute it (a device must not start a command at or after expiresAt; one that got it too
  // late rejects it with reason `expired`).
  'Expired',
  // The caller cancelled the command and it will not be executed: it never reached the device,
  // or the device confirmed the cancel (result `cancelled`). A cancelled command that the
  // device already executed ends with its real outcome instead, and one whose device does not
  // answer the cancel ends TimedOut.
  'Cancelled',
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export const TERMINAL_STATES: readonly CommandState[] = ['Succeeded', 'Rejected', 'Failed', 'TimedOut', 'Expired', 'Cancelled'];

export function isTerminal(state: CommandState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Which state may follow which. `Sent → Sent` is a re-publish (next attempt). */
export const ALLOWED_TRANSITIONS: Record<CommandState, readonly CommandState[]> = {
  Created: ['Sent', 'Acknowledged', 'Succeeded', 'Failed', 'Rejected', 'Expired', 'TimedOut', 'Cancelled'],
  Sent: ['Sent', 'Acknowledged', 'Succeeded', 'Failed', 'Rejected', 'Expired', 'TimedOut', 'Cancelled'],
  Acknowledged: ['Succeeded', 'Failed', 'TimedOut', 'Cancelled'],
  Succeeded: [],
  Rejected: [],
  Failed: [],
  TimedOut: [],
  Expired: [],
  Cancelled: [],
};
