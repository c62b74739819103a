import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createRolloutActivities } from '../activities/rollout-activities';
import { createCommandActivities } from '../activities/publish-command';
import { createDeviceQueueActivities } from '../activities/enqueue-on-device';
import { createDeviceWatchActivities } from '../activities/watch-device';
import type { MqttPublisher } from '../activities/mqtt-publisher';
import { EntityPresence } from '../activities/entity-presence';
import { deviceTaskQueue } from '../protocol/device-contract';

export interface CommandWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  publisher: MqttPublisher;
  topicPrefix: string;
  /** A Temporal client: rollouts find a device's command with it, publishes read the device's presence from its entity. */
  client: Client;
  /** A prebuilt bundle (tests build one for all workers); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Worker plugins, e.g. tracing (config/tracing.ts). */
  plugins?: WorkerOptions['plugins'];
  /** Tuning knobs, passed through (see docs/operations.md). */
  tuning?: Pick<WorkerOptions, 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskExecutions' | 'maxCachedWorkflows'>;
}

/** A worker that runs the command and rollout workflows and their activities on one task queue. */
export function createCommandWorker(o: CommandWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities: {
      ...createCommandActivities({
        publisher: o.publisher,
        topicPrefix: o.topicPrefix,
        presence: new EntityPresence(o.client, deviceTaskQueue(o.taskQueue)),
      }),
      ...createRolloutActivities(o.client),
      ...createDeviceQueueActivities(o.client),
      ...createDeviceWatchActivities(o.client),
    },
    ...(o.plugins?.length ? { plugins: o.plugins } : {}),
    ...o.tuning,
  });
}

export function workflowsPath(): string {
  return require.resolve('../workflows');
}

export { NativeConnection };
