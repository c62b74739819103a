import { Command, Option } from 'commander';
import { MqttPublisher } from '../../activities/mqtt-publisher';
import { createLogger, type Logger } from '../../config/logger';
import { Client, Connection } from '@temporalio/client';
import { connectNative, connectWithRetry, temporalConnectionOptions } from '../../config/temporal-connect';
import { installTemporalRuntime } from '../../config/temporal-runtime';
import { tracingPlugin } from '../../config/tracing';
import { prebuiltWorkflowBundle } from '../../workers/workflow-bundle';
import { DEFAULT_CACHED_DEVICE_ENTITIES } from '../../workers/device-worker';
import { createServiceWorkers } from '../../workers/service-workers';
import { setWorkflowStackTraces } from '../../workers/workflow-stack-traces';
import { deviceTaskQueue } from '../../protocol/device-contract';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parsePositiveInt } from '../parse-options';

export function workerCommand(): Command {
  return withConnectionOptions(new Command('worker'))
    .description('run a command worker: executes command workflows and publishes commands over MQTT, and the device entities')
    .addOption(new Option('--max-workflow-tasks <n>', 'concurrent workflow tasks').argParser(parsePositiveInt))
    .addOption(new Option('--max-activities <n>', 'concurrent activities (publishes)').argParser(parsePositiveInt))
    .addOption(
      new Option('--max-cached-workflows <n>', 'workflows kept in memory between tasks (SDK default: from the V8 heap limit)').argParser(parsePositiveInt),
    )
    .addOption(
      new Option(
        '--max-cached-devices <n>',
        'device entities kept in memory between their status changes (the others are replayed from history when they change)',
      )
        .default(DEFAULT_CACHED_DEVICE_ENTITIES)
        .argParser(parsePositiveInt)
        .env('DCO_MAX_CACHED_DEVICES'),
    )
    .addOption(
      new Option(
        '--workflow-stack-traces',
        "record where each workflow waits, for the Web UI's Stack Trace tab (costs about a quarter of the worker's CPU; off by default)",
      ).env('DCO_WORKFLOW_STACK_TRACES'),
    )
    .option('--tracing', 'OpenTelemetry spans for workflows and activities, as JSON lines on stderr (or DCO_TRACING=1)')
    .addOption(new Option('--metrics-address <host:port>', 'serve Prometheus metrics (SDK and command metrics) here').env('DCO_METRICS_ADDRESS'))
    .action(async (opts) => {
      const settings = settingsFrom(opts, 'worker');
      setWorkflowStackTraces(opts.workflowStackTraces === true);
      const logger = createLogger('worker');
      installTemporalRuntime(logger, 'INFO', opts.metricsAddress);
      const tracing = tracingPlugin('worker', opts.tracing || undefined);
      const connection = await connectNative(settings, logger);
      const clientConnection = await connectWithRetry(
        `Temporal at ${settings.temporalAddress}`,
        () => Connection.connect(temporalConnectionOptions(settings)),
        logger,
      );
      const publisher = new MqttPublisher({
        url: settings.mqttUrl,
        username: settings.mqttUsername,
        password: settings.mqttPassword,
        caFile: settings.mqttCaFile,
        log: (message, details) => logger.warn(details, message),
      });
      const code = workflowCode(tracing !== undefined, logger);
      const workers = await createServiceWorkers({
        ...code,
        connection,
        namespace: settings.namespace,
        taskQueue: settings.taskQueue,
        publisher,
        topicPrefix: settings.topicPrefix,
        client: new Client({ connection: clientConnection, namespace: settings.namespace }),
        ...(tracing ? { plugins: [tracing] } : {}),
        tuning: {
          ...(opts.maxWorkflowTasks ? { maxConcurrentWorkflowTaskExecutions: opts.maxWorkflowTasks } : {}),
          ...(opts.maxActivities ? { maxConcurrentActivityTaskExecutions: opts.maxActivities } : {}),
          ...(opts.maxCachedWorkflows ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
        },
        maxCachedEntities: opts.maxCachedDevices,
      });
      logger.info(
        { taskQueue: settings.taskQueue, deviceTaskQueue: deviceTaskQueue(settings.taskQueue), temporal: settings.temporalAddress, mqtt: settings.mqttUrl },
        // The SDK warns "No activities registered" for the entities' queue: expected, they have none.
        'worker started',
      );
      // Each worker stops itself on SIGINT/SIGTERM, finishing the tasks it holds.
      await workers.run();
      await publisher.close();
      await connection.close();
      await clientConnection.close();
      logger.info('worker stopped');
    });
}

/**
 * The prebuilt workflow bundle (workers/workflow-bundle.ts), or none: bundle in process. Tracing
 * adds its workflow interceptors at bundle time, so a traced worker bundles in process; so does
 * one whose cache cannot be written (it says why, and starts anyway).
 */
function workflowCode(traced: boolean, logger: Logger): { workflowBundle?: { codePath: string } } {
  if (traced) return {};
  try {
    const { codePath, built } = prebuiltWorkflowBundle();
    logger.info({ codePath, built }, built ? 'workflow bundle built and cached' : 'using the cached workflow bundle');
    return { workflowBundle: { codePath } };
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      'could not prebuild the workflow bundle; bundling in this process (set DCO_CACHE_DIR to a writable directory)',
    );
    return {};
  }
}
