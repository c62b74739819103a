/**
 * The life of one device command. Every transition is explicit (see ALLOWED_TRANSITIONS) and
 * recorded; a terminal state never changes again, whatever arrives later.
 */
export const COMMAND_STATES = [
  'Created', // the workflow exists, nothing published yet
  'Sent', // the broker accepted the publish (PUBACK); the device may or may not have it
  'Acknowledged', // the device confirmed receipt and accepted the command
  'Succeeded', // the device reported successful execution
  'Rejected', // the device refused the command (ack rejected)
  'Failed', // the device executed the command and reported failure
  'TimedOut', // no ack after every attempt, or no result in time after the ack
  'Expired', // the command's time to live passed before the device executed it
  'Cancelled', // the caller cancelled the command; nothing more is published
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export const TERMINAL_STATES: readonly CommandState[] = [
  'Succeeded',
  'Rejected',
  'Failed',
  'TimedOut',
  'Expired',
  'Cancelled',
];

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
