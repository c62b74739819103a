import { defineSignal } from '@temporalio/workflow';

/**
 * The serial queue of a device (protocol/command-ordering.ts) lives in its entity,
 * `device-<deviceId>`: serial commands ask it for a turn and give the turn back when they end.
 * Only types and definitions live here.
 */

/** A serial command waiting for its turn, or holding it. */
export interface DeviceQueueEntry {
  commandId: string;
  /** The command's name, for `dco devices show`. */
  name: string;
  priority: number;
  /** When the command asked for its turn (its workflow's clock): the order among equal priorities. */
  enqueuedAt: string;
  /**
   * Past this time (epoch ms) the entity no longer keeps the turn for the command: by then the
   * command has ended whatever happened (its expiry, the result timeout and the graces). It
   * covers a command that was terminated and so never gave its turn back.
   */
  holdUntilMs: number;
  /** Set when the entity gave it the turn. */
  grantedAt?: string;
}

export interface DeviceQueueView {
  /** The serial command that holds the device's turn. */
  inFlight?: DeviceQueueEntry;
  /** Waiting, in the order they will get their turn. */
  waiting: DeviceQueueEntry[];
  /** Turns given so far (all runs of the entity). */
  served: number;
  /** Turns taken back because the command's hold time passed or it could not be told (it had ended). */
  reclaimed: number;
}

/** The queue as the entity keeps it (and hands to its next run when it continues as new). */
export interface DeviceQueueState extends DeviceQueueView {
  /** The latest commandIds whose turn ended, oldest first: a late duplicate enqueue of one queues nothing. */
  released: string[];
}

export type DeviceQueueRequest =
  | { kind: 'enqueue'; entry: DeviceQueueEntry }
  /** The command ended (or stopped waiting): its turn, or its place in the queue, is free. */
  | { kind: 'release'; commandId: string };

/** Serial commands to their device's entity. */
export const deviceQueueSignal = defineSignal<[DeviceQueueRequest]>('deviceQueue');
/** The entity to a serial command: your turn. */
export const serialTurnSignal = defineSignal<[{ deviceId: string }]>('serialTurn');

/** What the command workflow asks its worker to do (a local activity): enqueue, creating the entity if needed. */
export interface DeviceQueueActivities {
  enqueueOnDevice(input: { deviceId: string; entityTaskQueue: string; entry: DeviceQueueEntry }): Promise<void>;
}
