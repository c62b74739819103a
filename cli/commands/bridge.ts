import { Client, Connection } from '@temporalio/client';
import { Command, Option } from 'commander';
import { DEFAULT_DEADLETTER_DIR } from '../../bridge/dead-letter-record';
import { DeadLetterStore } from '../../bridge/dead-letter-store';
import { exportBridgeMetrics } from '../../bridge/bridge-metrics';
import { MqttBridge } from '../../bridge/mqtt-bridge';
import { serveMetrics } from '../../config/metrics-server';
import { createLogger } from '../../config/logger';
import { connectWithRetry, temporalConnectionOptions } from '../../config/temporal-connect';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parseDuration, parsePositiveInt } from '../parse-options';
import { DEFAULT_LANES, MAX_LANES } from '../../bridge/mqtt-bridge';
import { DEFAULT_DEVICE_RATE } from '../../bridge/device-rate-limiter';
import { DEFAULT_MAX_REPEATS } from '../../bridge/duplicate-guard';
import { DEFAULT_DEVICE_STATUS_RATE } from '../../bridge/device-status-forwarder';
import { untilStopped } from '../until-stopped';
import { UsageError } from '../usage-error';

export function bridgeCommand(): Command {
  return withConnectionOptions(new Command('bridge'))
    .description('run the MQTT bridge: forwards device acks and results to command workflows')
    .addOption(new Option('--client-id <id>', 'MQTT client ID of the persistent session').default(process.env.DCO_BRIDGE_CLIENT_ID ?? 'dco-bridge'))
    .addOption(
      new Option('--deadletter-dir <dir>', 'where rejected messages are kept and counted (`dco deadletters` reads it)').default(
        process.env.DCO_DEADLETTER_DIR || DEFAULT_DEADLETTER_DIR,
        'env DCO_DEADLETTER_DIR, else .data/deadletters',
      ),
    )
    .addOption(
      new Option('--share-group <name>', 'run several bridges: each its own --client-id, all in one MQTT v5 shared-subscription group').env(
        'DCO_BRIDGE_SHARE_GROUP',
      ),
    )
    .addOption(
      new Option(
        '--share-group-size <n>',
        "bridges in the --share-group (each with the same --lanes): each sees 1/n of a device's answers, so each charges n of the device's budget for one; together they allow --device-rate, not n times it",
      )
        .default(1)
        .argParser(parsePositiveInt)
        .env('DCO_BRIDGE_SHARE_GROUP_SIZE'),
    )
    .addOption(new Option('--metrics-address <host:port>', 'serve Prometheus metrics (/metrics) and a health check (/healthz) here').env('DCO_METRICS_ADDRESS'))
    .addOption(
      new Option('--lanes <n>', `MQTT connections handling messages in parallel (1-${MAX_LANES})`)
        .default(DEFAULT_LANES)
        .argParser(parsePositiveInt)
        .env('DCO_BRIDGE_LANES'),
    )
    .addOption(
      new Option('--device-burst <n>', 'messages a device may send at once before its budget applies')
        .default(DEFAULT_DEVICE_RATE.burst)
        .argParser(parsePositiveInt)
        .env('DCO_DEVICE_BURST'),
    )
    .addOption(
      new Option('--device-rate <n>', 'messages per second a device may send, sustained; past it they are dead letters `rate-limited`')
        .default(DEFAULT_DEVICE_RATE.perSecond)
        .argParser(parsePositiveInt)
        .env('DCO_DEVICE_RATE'),
    )
    .addOption(
      new Option('--max-repeats <n>', 'copies of one answer forwarded to Temporal; later copies are dropped and counted')
        .default(DEFAULT_MAX_REPEATS)
        .argParser(parsePositiveInt)
        .env('DCO_MAX_REPEATS'),
    )
    .addOption(
      new Option('--device-status-rate <n>', 'status changes forwarded to device entities per second at most (a reconnect storm is drained at this rate)')
        .default(DEFAULT_DEVICE_STATUS_RATE)
        .argParser(parsePositiveInt)
        .env('DCO_DEVICE_STATUS_RATE'),
    )
    .addOption(
      new Option('--session-expiry <duration>', 'how long the broker keeps queued messages while the bridge is down')
        .default(24 * 3600_000, '24h')
        .argParser(parseDuration),
    )
    .action(async (opts) => {
      if (opts.shareGroupSize > 1 && !opts.shareGroup)
        throw new UsageError('--share-group-size needs --share-group: without a group this bridge sees every answer');
      if (opts.shareGroupSize > opts.deviceBurst) {
        throw new UsageError(
          `--device-burst (${opts.deviceBurst}) must be at least --share-group-size (${opts.shareGroupSize}): each answer costs that many of the budget`,
        );
      }
      const settings = settingsFrom(opts, 'bridge');
      const logger = createLogger('bridge');
      const connection = await connectWithRetry(
        `Temporal at ${settings.temporalAddress}`,
        () => Connection.connect({ ...temporalConnectionOptions(settings), connectTimeout: 5_000 }),
        logger,
      );
      const deadLetters = new DeadLetterStore({ dir: opts.deadletterDir, logger });
      const bridge = new MqttBridge({
        mqttUrl: settings.mqttUrl,
        mqttUsername: settings.mqttUsername,
        mqttPassword: settings.mqttPassword,
        mqttCaFile: settings.mqttCaFile,
        deadLetters,
        topicPrefix: settings.topicPrefix,
        taskQueue: settings.taskQueue,
        temporal: new Client({ connection, namespace: settings.namespace }),
        logger,
        clientId: opts.clientId,
        sessionExpirySeconds: Math.ceil(opts.sessionExpiry / 1000),
        ...(opts.shareGroup ? { shareGroup: opts.shareGroup, shareGroupSize: opts.shareGroupSize } : {}),
        lanes: opts.lanes,
        deviceRate: { burst: opts.deviceBurst, perSecond: opts.deviceRate },
        maxRepeats: opts.maxRepeats,
        deviceStatus: { perSecond: opts.deviceStatusRate },
      });
      const metrics = opts.metricsAddress ? await serveMetrics(opts.metricsAddress, () => bridge.connected) : undefined;
      if (metrics) exportBridgeMetrics(bridge.counters, metrics.registry);
      await bridge.start();
      logger.info({ mqtt: settings.mqttUrl, clientId: opts.clientId, topicPrefix: settings.topicPrefix, deadLetters: opts.deadletterDir }, 'bridge started');
      const report = setInterval(() => logger.info({ counters: bridge.counters.toJSON(), deadLetters: deadLetters.totals() }, 'bridge counters'), 60_000);
      await untilStopped();
      clearInterval(report);
      await bridge.stop();
      await metrics?.close();
      deadLetters.close();
      await connection.close();
      logger.info({ counters: bridge.counters.toJSON() }, 'bridge stopped');
    });
}
