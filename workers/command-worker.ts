import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createCommandActivities } from '../activities/publish-command';
import type { MqttPublisher } from '../activities/mqtt-publisher';
import { PresenceView } from '../activities/presence-view';

export interface CommandWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  publisher: MqttPublisher;
  topicPrefix: string;
  /** A prebuilt bundle (tests build one for all workers); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Tuning knobs, passed through (see docs/operations.md). */
  tuning?: Pick<WorkerOptions, 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskExecutions' | 'maxCachedWorkflows'>;
}

/** A worker that runs the command workflow and its publish activity on one task queue. */
export function createCommandWorker(o: CommandWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities: createCommandActivities({
      publisher: o.publisher,
      topicPrefix: o.topicPrefix,
      presence: new PresenceView(o.publisher.mqtt, o.topicPrefix),
    }),
    ...o.tuning,
  });
}

export function workflowsPath(): string {
  return require.resolve('../workflows');
}

export { NativeConnection };
