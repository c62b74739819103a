import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { DEVICE_WORKFLOW_TYPE, deviceWorkflowId } from '../protocol/device-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';

/**
 * Signals a device's entity, creating it if it does not exist yet (signal-with-start): a
 * device that never sent a status has none, and a command's request must not be lost for that.
 * The entity dedupes a retried request.
 */
export async function signalDeviceEntity<Arg>(
  client: Client,
  deviceId: string,
  entityTaskQueue: string,
  signal: SignalDefinition<[Arg]>,
  arg: Arg,
): Promise<void> {
  await client.workflow.signalWithStart(DEVICE_WORKFLOW_TYPE, {
    workflowId: deviceWorkflowId(deviceId),
    taskQueue: entityTaskQueue,
    args: [{ deviceId }],
    signal,
    signalArgs: [arg],
    typedSearchAttributes: [{ key: DeviceIdAttribute, value: deviceId }],
  });
}
