import type { Client } from '@temporalio/client';
import { deviceQueueSignal, type DeviceQueueActivities } from '../protocol/device-queue-contract';
import { signalDeviceEntity } from '../client/signal-device-entity';

/**
 * A serial command asks its device's entity for a turn. The entity may not exist yet (a device
 * that never sent a status, or a command sent before the bridge ran): this creates it. Runs as
 * a local activity with the worker's client.
 */
export function createDeviceQueueActivities(client: Client): DeviceQueueActivities {
  return {
    enqueueOnDevice: ({ deviceId, entityTaskQueue, entry }) =>
      signalDeviceEntity(client, deviceId, entityTaskQueue, deviceQueueSignal, { kind: 'enqueue', entry }),
  };
}
