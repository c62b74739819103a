import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DeviceAttributes } from './messages';
import type { DeviceQueueState, DeviceQueueView } from './device-queue-contract';
import type { DeviceWatcher } from './device-watch-contract';

/**
 * The device entity: one long-running workflow per device, `device-<deviceId>`, the durable
 * record of what the service knows about the device: presence, boot, when it was last heard,
 * what it reports about itself, and which commands wait for it (device-watch-contract.ts).
 * The bridge creates it with the device's first status (signal-with-start), a waiting command
 * with its first watch request, and forwards every change of status to it; it continues as new
 * before its history grows long. Only types and definitions live here.
 */

export const DEVICE_WORKFLOW_TYPE = 'deviceWorkflow';

/** Another prefix than `command-` and `late-`: no device ID can collide with a command's workflow. */
export function deviceWorkflowId(deviceId: string): string {
  return `device-${deviceId}`;
}

/**
 * The entities' own task queue beside the commands' (`<queue>-devices`): their worker keeps
 * only a few of them in memory, so a fleet of devices that rarely change costs the worker
 * nothing, and entity work never waits in line with command tasks.
 */
export function deviceTaskQueue(commandTaskQueue: string): string {
  return `${commandTaskQueue}-devices`;
}

/** A device status as the bridge forwards it. `deviceId` comes from the topic, not the payload. */
export interface DeviceStatusReport {
  deviceId: string;
  state: 'online' | 'offline';
  bootId: string;
  /** When the bridge received it (its clock): reports are applied in this order. */
  receivedAt: string;
  /** The status's `ts`, by the device's clock. */
  deviceTs?: string;
  /** Present when the device reported its attributes in this status. */
  attributes?: DeviceAttributes;
  /**
   * Set when this report comes from the device's `pending` request ("I am awake: what is
   * waiting for me?"), which also says it is online in `bootId`: the entity wakes every
   * command that waits for the device, whatever its presence was.
   */
  asked?: true;
}

/**
 * The memo key under which the entity shows the device's presence (`DevicePresenceMemo`): what
 * the command worker reads (DescribeWorkflowExecution, no worker task) before it publishes, so
 * that no worker holds the fleet's statuses in memory.
 */
export const DEVICE_PRESENCE_MEMO = 'presence';

export interface DevicePresenceMemo {
  state: 'online' | 'offline';
  bootId: string;
  /** The bridge's receive time of the latest status the entity applied. */
  observedAt: string;
}

export type DeviceEventKind = 'first-seen' | 'came-online' | 'went-offline' | 'rebooted' | 'attributes-changed' | 'groups-changed';

export interface DeviceEvent {
  /** The bridge's receive time of the status that caused it. */
  at: string;
  event: DeviceEventKind;
  detail: string;
}

export interface DeviceSnapshot {
  deviceId: string;
  /** `unknown` until the first status (an entity may be created by a command, later). */
  presence: 'online' | 'offline' | 'unknown';
  bootId?: string;
  /** Since when the device has been in `presence` (receive time of the status that said so). */
  presenceSince?: string;
  /** The receive time of the latest status applied; heartbeats that change nothing are not forwarded. */
  lastStatusAt?: string;
  /** The latest status's `ts`, by the device's clock. */
  deviceTs?: string;
  firstSeenAt?: string;
  /** Boot IDs seen: 1 after the first status, +1 per reboot. */
  boots: number;
  attributes: DeviceAttributes;
  /** The groups it was assigned to (device-group-contract.ts), sorted; absent until the first. */
  groups?: string[];
  /** The latest changes, newest last (at most DEVICE_EVENTS_KEPT). */
  recent: DeviceEvent[];
  /** Reports applied; ignored as older than the latest applied (out of order); refused as malformed. */
  reports: { applied: number; stale: number; invalid: number };
  /** The device's serial commands (absent until the first one asked for a turn). */
  queue?: DeviceQueueView;
  /** Commands waiting for the device that the entity wakes (absent until the first one asked). */
  watchers?: DeviceWatcher[];
  /** Wake-up signals sent to commands so far (all runs of the entity). */
  wakes?: number;
}

export interface DeviceEntityInput {
  deviceId: string;
  /** Set only by the entity itself when it continues as new: the record so far. */
  continued?: { snapshot: DeviceSnapshot; runs: number; queue?: DeviceQueueState; watchers?: DeviceWatcher[] };
  /** Continue as new once a run's history has this many events (tests lower it). */
  maxHistoryEvents?: number;
}

export const DEVICE_EVENTS_KEPT = 20;
export const DEVICE_MAX_HISTORY_EVENTS = 2_000;

export const deviceStatusSignal = defineSignal<[DeviceStatusReport]>('deviceStatus');
export const deviceSnapshotQuery = defineQuery<DeviceSnapshot>('deviceSnapshot');
