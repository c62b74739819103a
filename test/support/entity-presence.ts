import type { Client } from '@temporalio/client';
import { EntityPresence } from '../../activities/entity-presence';
import { deviceSnapshotQuery, deviceTaskQueue, deviceWorkflowId, type DeviceSnapshot } from '../../protocol/device-contract';
import { eventually } from './eventually';

/**
 * Waits until the device's entity shows `state` (what the worker reads before a publish): the
 * bridge forwards statuses to the entity at a bounded rate, so a test that needs the worker to
 * know a device is offline waits for this, not for a fixed time.
 */
export async function entityShows(client: Client, taskQueue: string, deviceId: string, state: 'online' | 'offline'): Promise<void> {
  const presence = new EntityPresence(client, deviceTaskQueue(taskQueue));
  await eventually(
    () => presence.get(deviceId),
    (p) => p?.state === state,
  );
}

/** The device entity's snapshot (its query), or undefined while it does not exist. */
export async function entitySnapshot(client: Client, deviceId: string): Promise<DeviceSnapshot | undefined> {
  return client.workflow
    .getHandle(deviceWorkflowId(deviceId))
    .query(deviceSnapshotQuery)
    .catch(() => undefined);
}

/** Waits until the device entity's snapshot passes `accept` (for example: it wakes a command). */
export async function entityWhen(client: Client, deviceId: string, accept: (s: DeviceSnapshot) => boolean, timeoutMs = 60_000): Promise<DeviceSnapshot> {
  return (await eventually(
    () => entitySnapshot(client, deviceId),
    (s) => s !== undefined && accept(s),
    timeoutMs,
  )) as DeviceSnapshot;
}

/** True once the entity wakes the command (it asked for wake-ups). */
export const watches = (commandId: string) => (s: DeviceSnapshot) => s.watchers?.some((w) => w.commandId === commandId) === true;
