import type { Client } from '@temporalio/client';
import { deviceWatchSignal, type DeviceWatchActivities } from '../protocol/device-watch-contract';
import { signalDeviceEntity } from '../client/signal-device-entity';

/**
 * A waiting command asks its device's entity for wake-ups. If the entity does not exist yet (a
 * device that never sent a status), this creates it, so that the device's first status finds
 * the command. Runs as a local activity with the worker's client.
 */
export function createDeviceWatchActivities(client: Client): DeviceWatchActivities {
  return {
    watchDevice: ({ deviceId, entityTaskQueue, request }) => signalDeviceEntity(client, deviceId, entityTaskQueue, deviceWatchSignal, request),
  };
}
