import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DevicePresence } from '../protocol/command-contract';
import { DEVICE_PRESENCE_MEMO, deviceWorkflowId, type DevicePresenceMemo } from '../protocol/device-contract';

/** How long a presence read may take before the publish goes ahead without it. */
export const READ_DEADLINE_MS = 2_000;

/** What the publish activity asks before it publishes; undefined: not known (publish). */
export interface PresenceSource {
  get(deviceId: string): Promise<DevicePresence | undefined>;
}

/**
 * Presence as the device's entity (`device-<deviceId>`, the one authority) shows it in its memo,
 * read with DescribeWorkflowExecution: a read of the entity's state on the server, no task for
 * any worker, and nothing kept here, so the worker's memory does not grow with the fleet.
 * Unknown when the device never sent a status (no entity), when its entity predates the memo,
 * or when Temporal does not answer within READ_DEADLINE_MS: the command is then published, as
 * for any device whose presence is not known. A slow read must not hold up the publish (or
 * retry inside it): the question only saves a copy to an offline device.
 */
export class EntityPresence implements PresenceSource {
  /**
   * `entityTaskQueue`: where this deployment's entities run (deviceTaskQueue(the commands'
   * queue)). Entity IDs are the namespace's (`device-<deviceId>`): an entity that another
   * deployment in the same namespace runs for a device of the same ID is not ours to believe.
   */
  constructor(
    private readonly client: Pick<Client, 'workflow' | 'withDeadline'>,
    private readonly entityTaskQueue: string,
    private readonly log?: (message: string, details: Record<string, unknown>) => void,
  ) {}

  async get(deviceId: string): Promise<DevicePresence | undefined> {
    try {
      const described = await this.client.withDeadline(Date.now() + READ_DEADLINE_MS, () =>
        this.client.workflow.getHandle(deviceWorkflowId(deviceId)).describe(),
      );
      if (described.taskQueue !== this.entityTaskQueue) return undefined;
      const memo = described.memo?.[DEVICE_PRESENCE_MEMO] as Partial<DevicePresenceMemo> | undefined;
      if (!memo || (memo.state !== 'online' && memo.state !== 'offline') || typeof memo.bootId !== 'string' || typeof memo.observedAt !== 'string')
        return undefined;
      return { deviceId, state: memo.state, bootId: memo.bootId, observedAt: memo.observedAt };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError))
        this.log?.('could not read the device entity; publishing as if presence were unknown', { deviceId, error: String(err) });
      return undefined;
    }
  }
}
