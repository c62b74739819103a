import type { Worker } from '@temporalio/worker';
import { createCommandWorker, type CommandWorkerOptions } from './command-worker';
import { createDeviceWorker } from './device-worker';

export interface ServiceWorkersOptions extends CommandWorkerOptions {
  /** Device entities kept in memory (device-worker.ts, DEFAULT_CACHED_DEVICE_ENTITIES). */
  maxCachedEntities?: number;
}

/** What `dco worker` runs: the commands' worker and the device entities' worker, as one unit. */
export interface ServiceWorkers {
  commands: Worker;
  devices: Worker;
  /** Runs both until both have stopped (on shutdown(), or on SIGINT/SIGTERM, which each worker handles). */
  run(): Promise<void>;
  shutdown(): void;
}

/** Both workers of a service process, on the command task queue and its `-devices` queue. */
export async function createServiceWorkers(o: ServiceWorkersOptions): Promise<ServiceWorkers> {
  const { maxCachedEntities, ...commandOptions } = o;
  const commands = await createCommandWorker(commandOptions);
  const devices = await createDeviceWorker({
    connection: o.connection,
    namespace: o.namespace,
    commandTaskQueue: o.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : {}),
    ...(o.plugins ? { plugins: o.plugins } : {}),
    ...(maxCachedEntities !== undefined ? { maxCachedEntities } : {}),
  });
  return {
    commands,
    devices,
    run: async () => {
      await Promise.all([commands.run(), devices.run()]);
    },
    shutdown: () => {
      commands.shutdown();
      devices.shutdown();
    },
  };
}
