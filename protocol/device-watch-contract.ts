import { defineSignal } from '@temporalio/workflow';

/**
 * Wake-ups through the device entity (`device-<deviceId>`): a command that waits for its device
 * (held while the device is offline, or unanswered for a while) asks the entity to tell it when
 * the device comes online, reboots or asks for its pending commands. The entity is the one
 * place that hears the device's statuses, so nothing has to search for a device's open
 * commands when its status changes. Only types and definitions live here.
 */

/** What a waiting command asks its device's entity. Every request may arrive twice: all are idempotent. */
export type DeviceWatchRequest =
  /**
   * Tell me of the device's presence changes. `since` (ISO time) is what the command already
   * knows: if the entity heard from the device after it, it tells the command at once.
   * `untilMs` (epoch ms): past it the entity forgets the command even if it never says
   * `unwatch` (it was terminated): by then it has ended whatever happened.
   */
  | { kind: 'watch'; commandId: string; since: string; untilMs: number }
  /** The command ended: forget it. */
  | { kind: 'unwatch'; commandId: string };

/** A command the entity will wake, as `dco devices show` lists it. */
export interface DeviceWatcher {
  commandId: string;
  since: string;
  untilMs: number;
}

/**
 * Commands one entity keeps for wake-ups. One caller may start any number of commands to one
 * device; past this many, a new one is refused (the entity logs it) and falls back to its own
 * re-checks (PRESENCE_RECHECK and the ack timeout), so a device's wake-up costs the entity at
 * most this many signals.
 */
export const MAX_WATCHERS_PER_DEVICE = 100;

export const deviceWatchSignal = defineSignal<[DeviceWatchRequest]>('deviceWatch');

/** What the command workflow asks its worker to do (a local activity): watch, creating the entity if needed. */
export interface DeviceWatchActivities {
  watchDevice(input: { deviceId: string; entityTaskQueue: string; request: Extract<DeviceWatchRequest, { kind: 'watch' }> }): Promise<void>;
}
