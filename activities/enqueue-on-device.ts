import type { Client } from '@temporalio/client';
import { DEVICE_WORKFLOW_TYPE, deviceWorkflowId } from '../protocol/device-contract';
import { deviceQueueSignal, type DeviceQueueActivities } from '../protocol/device-queue-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';

/**
 * A serial command asks its device's entity for a turn. Signal-with-start: the entity may not
 * exist yet (a device that never sent a status, or a command sent before the bridge ran).
 * Runs as a local activity with the worker's client; the entity dedupes a retried enqueue.
 */
export function createDeviceQueueActivities(client: Client): DeviceQueueActivities {
  return {
    async enqueueOnDevice({ deviceId, entityTaskQueue, entry }) {
      await client.workflow.signalWithStart(DEVICE_WORKFLOW_TYPE, {
        workflowId: deviceWorkflowId(deviceId),
        taskQueue: entityTaskQueue,
        args: [{ deviceId }],
        signal: deviceQueueSignal,
        signalArgs: [{ kind: 'enqueue', entry }],
        typedSearchAttributes: [{ key: DeviceIdAttribute, value: deviceId }],
      });
    },
  };
}
