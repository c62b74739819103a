import { Command, Option } from 'commander';
import { MqttPublisher } from '../../activities/mqtt-publisher';
import { createLogger } from '../../config/logger';
import { Client, Connection } from '@temporalio/client';
import { connectNative, connectWithRetry } from '../../config/temporal-connect';
import { installTemporalRuntime } from '../../config/temporal-runtime';
import { tracingPlugin } from '../../config/tracing';
import { createCommandWorker } from '../../workers/command-worker';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parsePositiveInt } from '../parse-options';

export function workerCommand(): Command {
  return withConnectionOptions(new Command('worker'))
    .description('run a command worker: executes command workflows and publishes commands over MQTT')
    .addOption(new Option('--max-workflow-tasks <n>', 'concurrent workflow tasks').argParser(parsePositiveInt))
    .addOption(new Option('--max-activities <n>', 'concurrent activities (publishes)').argParser(parsePositiveInt))
    .option('--tracing', 'OpenTelemetry spans for workflows and activities, as JSON lines on stderr (or DCO_TRACING=1)')
    .addOption(new Option('--metrics-address <host:port>', 'serve Prometheus metrics (SDK and command metrics) here').env('DCO_METRICS_ADDRESS'))
    .action(async (opts) => {
      const settings = settingsFrom(opts, 'worker');
      const logger = createLogger('worker');
      installTemporalRuntime(logger, 'INFO', opts.metricsAddress);
      const tracing = tracingPlugin('worker', opts.tracing || undefined);
      const connection = await connectNative(settings.temporalAddress, logger);
      const clientConnection = await connectWithRetry(`Temporal at ${settings.temporalAddress}`, () => Connection.connect({ address: settings.temporalAddress }), logger);
      const publisher = new MqttPublisher({ url: settings.mqttUrl, username: settings.mqttUsername, password: settings.mqttPassword, caFile: settings.mqttCaFile });
      const worker = await createCommandWorker({
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
        },
      });
      logger.info({ taskQueue: settings.taskQueue, temporal: settings.temporalAddress, mqtt: settings.mqttUrl }, 'worker started');
      // The worker stops itself on SIGINT/SIGTERM, finishing the tasks it holds.
      await worker.run();
      await publisher.close();
      await connection.close();
      await clientConnection.close();
      logger.info('worker stopped');
    });
}
