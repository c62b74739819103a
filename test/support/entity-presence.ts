import type { Client } from '@temporalio/client';
import { EntityPresence } from '../../activities/entity-presence';
import { deviceTaskQueue } from '../../protocol/device-contract';
import { eventually } from './eventually';

/**
 * Waits until the device's entity shows `state` (what the worker reads before a publish): the
 * bridge forwards statuses to the entity at a bounded rate, so a test that needs the worker to
 * know a device is offline waits for this, not for a fixed time.
 */
export async function entityShows(client: Client, taskQueue: string, deviceId: string, state: 'online' | 'offline'): Promise<void> {
  const presence = new EntityPresence(client, deviceTaskQueue(taskQueue));
  await eventually(() => presence.get(deviceId), (p) => p?.state === state);
}
