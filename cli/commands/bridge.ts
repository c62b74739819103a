import { Client, Connection } from '@temporalio/client';
import { Command, Option } from 'commander';
import { MqttBridge } from '../../bridge/mqtt-bridge';
import { createLogger } from '../../config/logger';
import { connectWithRetry } from '../../config/temporal-connect';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parseDuration } from '../parse-options';

export function bridgeCommand(): Command {
  return withConnectionOptions(new Command('bridge'))
    .description('run the MQTT bridge: forwards device acks and results to command workflows')
    .addOption(new Option('--client-id <id>', 'MQTT client ID of the persistent session').default(process.env.DCO_BRIDGE_CLIENT_ID ?? 'dco-bridge'))
    .addOption(new Option('--session-expiry <duration>', 'how long the broker keeps queued messages while the bridge is down').default(24 * 3600_000, '24h').argParser(parseDuration))
    .action(async (opts) => {
      const settings = settingsFrom(opts, 'bridge');
      const logger = createLogger('bridge');
      const connection = await connectWithRetry(
        `Temporal at ${settings.temporalAddress}`,
        () => Connection.connect({ address: settings.temporalAddress, connectTimeout: 5_000 }),
        logger,
      );
      const bridge = new MqttBridge({
        mqttUrl: settings.mqttUrl,
        mqttUsername: settings.mqttUsername,
        mqttPassword: settings.mqttPassword,
        topicPrefix: settings.topicPrefix,
        temporal: new Client({ connection, namespace: settings.namespace }),
        logger,
        clientId: opts.clientId,
        sessionExpirySeconds: Math.ceil(opts.sessionExpiry / 1000),
      });
      await bridge.start();
      logger.info({ mqtt: settings.mqttUrl, clientId: opts.clientId, topicPrefix: settings.topicPrefix }, 'bridge started');
      const report = setInterval(() => logger.info({ counters: bridge.counters.toJSON() }, 'bridge counters'), 60_000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(report);
      await bridge.stop();
      await connection.close();
      logger.info({ counters: bridge.counters.toJSON() }, 'bridge stopped');
    });
}
