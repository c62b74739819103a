import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { COMMAND_WORKFLOW_TYPE } from '../protocol/command-contract';
import { deviceSnapshotQuery, deviceWorkflowId, type DeviceSnapshot } from '../protocol/device-contract';
import { DEVICE_ID_PATTERN } from '../protocol/id-patterns';
import { CommandStateAttribute } from '../protocol/search-attributes';

/** One device as the service knows it: its entity's record and its open commands. */
export interface DeviceView {
  deviceId: string;
  /**
   * The record of `device-<deviceId>`; undefined when there is none: the device never published
   * a status while a bridge ran (its first status creates the entity).
   */
  entity?: DeviceSnapshot;
  /** Running commands for the device, oldest first. `state` is the CommandState search attribute. */
  openCommands: Array<{ commandId: string; state: string; startedAt: string }>;
}

/** A deviceId that is not one: it would not be safe inside a visibility query. */
export class InvalidDeviceIdError extends Error {
  constructor(readonly deviceId: string) {
    super(`deviceId must be 1-64 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(deviceId)}`);
    this.name = 'InvalidDeviceIdError';
  }
}

/**
 * One device: the entity's snapshot (a query) and its open commands (one visibility call),
 * side by side. A device without an entity is not an error: `entity` is undefined.
 */
export async function showDevice(temporal: Client, deviceId: string): Promise<DeviceView> {
  // Checked before it is written into the query below: the pattern admits no quote.
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new InvalidDeviceIdError(deviceId);
  const entity = temporal.workflow
    .getHandle(deviceWorkflowId(deviceId))
    .query(deviceSnapshotQuery)
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
  const commands = (async () => {
    const query = `WorkflowType = '${COMMAND_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND DeviceId = '${deviceId}'`;
    const open: DeviceView['openCommands'] = [];
    for await (const w of temporal.workflow.list({ query })) {
      open.push({
        commandId: w.workflowId.replace(/^command-/, ''),
        state: w.typedSearchAttributes.get(CommandStateAttribute) ?? '?',
        startedAt: w.startTime.toISOString(),
      });
    }
    // Visibility lists newest first. ISO-8601 UTC times of one format sort as text.
    const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return open.sort((a, b) => order(a.startedAt, b.startedAt) || order(a.commandId, b.commandId));
  })();
  const [snapshot, openCommands] = await Promise.all([entity, commands]);
  return { deviceId, ...(snapshot ? { entity: snapshot } : {}), openCommands };
}
