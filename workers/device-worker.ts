import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { deviceTaskQueue } from '../protocol/device-contract';
import { workflowsPath } from './command-worker';

/**
 * Device entities kept in memory between their tasks. An entity gets a task only when its
 * device's status changes, so most of a fleet is idle at any time: one not in the cache is
 * replayed from its history (at most DEVICE_MAX_HISTORY_EVENTS events) when it next changes.
 * This bound is what keeps the worker's memory flat however many devices there are.
 */
export const DEFAULT_CACHED_DEVICE_ENTITIES = 20;

/**
 * Entity tasks run at once. Status changes are paced by the bridge (--device-status-rate), so
 * one or two are enough, and they cannot take the worker's CPU from the commands' tasks.
 */
const DEVICE_WORKFLOW_TASKS = 2;

export interface DeviceWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** The commands' task queue; the entities run on deviceTaskQueue(it). */
  commandTaskQueue: string;
  workflowBundle?: WorkerOptions['workflowBundle'];
  plugins?: WorkerOptions['plugins'];
  maxCachedEntities?: number;
}

/** A worker for the device entities (`deviceWorkflow`) on their own task queue, with a small cache. */
export function createDeviceWorker(o: DeviceWorkerOptions): Promise<Worker> {
  const cached = o.maxCachedEntities ?? DEFAULT_CACHED_DEVICE_ENTITIES;
  if (!(Number.isInteger(cached) && cached >= 1)) throw new RangeError(`maxCachedEntities must be a positive integer, got ${cached}`);
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: deviceTaskQueue(o.commandTaskQueue),
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: workflowsPath() }),
    ...(o.plugins?.length ? { plugins: o.plugins } : {}),
    maxCachedWorkflows: cached,
    // The SDK needs a cache slot for every task in progress.
    maxConcurrentWorkflowTaskExecutions: Math.min(DEVICE_WORKFLOW_TASKS, cached),
  });
}
