import type { Client } from '@temporalio/client';
import { DEVICE_WORKFLOW_TYPE, deviceWorkflowId } from '../protocol/device-contract';
import { deviceWatchSignal, type DeviceWatchActivities } from '../protocol/device-watch-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';

/**
 * A waiting command asks its device's entity for wake-ups. Signal-with-start: the entity may
 * not exist yet (a device that never sent a status), and then this creates it, so that the
 * device's first status finds the command. Runs as a local activity with the worker's client;
 * the entity dedupes a retried request.
 */
export function createDeviceWatchActivities(client: Client): DeviceWatchActivities {
  return {
    async watchDevice({ deviceId, entityTaskQueue, request }) {
      await client.workflow.signalWithStart(DEVICE_WORKFLOW_TYPE, {
        workflowId: deviceWorkflowId(deviceId),
        taskQueue: entityTaskQueue,
        args: [{ deviceId }],
        signal: deviceWatchSignal,
        signalArgs: [request],
        typedSearchAttributes: [{ key: DeviceIdAttribute, value: deviceId }],
      });
    },
  };
}
