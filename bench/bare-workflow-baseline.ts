import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { commandWorkflowId, deviceMessageSignal, type CommandActivities } from '../protocol/command-contract';
import { PROTOCOL_VERSION } from '../protocol/messages';

/**
 * Baseline without MQTT: the very same command workflow, whose publish activity answers by
 * signalling the ack and the result straight back (what the bridge would do), so the history
 * has the same shape: one activity, two signals, same transitions. `resultOnly`: the result
 * alone (it implies the ack), as the rollout bench's simulated devices answer.
 */
export function createBareCommandWorker(
  connection: NativeConnection,
  client: Client,
  taskQueue: string,
  workflowBundle: WorkerOptions['workflowBundle'],
  answers: { resultOnly?: boolean } = {},
): Promise<Worker> {
  const activities: CommandActivities = {
    async publishCommand({ deviceId, command }) {
      const handle = client.workflow.getHandle(commandWorkflowId(command.commandId));
      setImmediate(async () => {
        const receivedAt = new Date().toISOString();
        if (!answers.resultOnly)
          await handle.signal(deviceMessageSignal, {
            kind: 'ack',
            deviceId,
            receivedAt,
            message: { v: PROTOCOL_VERSION, commandId: command.commandId, status: 'accepted' },
          });
        await handle.signal(deviceMessageSignal, {
          kind: 'result',
          deviceId,
          receivedAt,
          message: { v: PROTOCOL_VERSION, commandId: command.commandId, status: 'succeeded' },
        });
      });
      return { published: true };
    },
    async publishCancel() {
      // The bench never cancels.
    },
  };
  return Worker.create({ connection, namespace: 'default', taskQueue, workflowBundle, activities });
}
