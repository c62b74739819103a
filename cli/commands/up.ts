import { Command, Option } from 'commander';
import path from 'node:path';
import { LocalStack } from '../../stack/local-stack';
import { parsePort } from '../parse-options';
import { untilStopped } from '../until-stopped';

export function upCommand(): Command {
  return new Command('up')
    .description('start Temporal, Mosquitto, a worker and a bridge in the foreground; Ctrl-C stops them')
    .addOption(new Option('--data-dir <dir>', 'state of all services (survives restarts)').default('.data'))
    .addOption(new Option('--host <ip>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--temporal-port <port>', 'Temporal frontend port').default(7233).argParser(parsePort))
    .addOption(new Option('--ui-port <port>', 'Temporal Web UI port').default(8233).argParser(parsePort))
    .addOption(new Option('--mqtt-port <port>', 'MQTT port of the devices').default(1883).argParser(parsePort))
    .addOption(new Option('--mqtt-service-port <port>', 'MQTT port of our services (worker, bridge, dco sim --shared)').default(1884).argParser(parsePort))
    .option('--tls', 'also listen for MQTT over TLS (mqtts://), with a development CA and certificate made under <data-dir>/tls/ if missing')
    .addOption(new Option('--mqtts-port <port>', 'MQTT over TLS port (with --tls)').default(8883).argParser(parsePort))
    .option('--no-ui', 'do not serve the Web UI')
    .action(async (opts) => {
      const stack = await LocalStack.start({
        dataDir: opts.dataDir,
        host: opts.host,
        temporalPort: opts.temporalPort,
        uiPort: opts.uiPort,
        mqttPort: opts.mqttPort,
        mqttServicePort: opts.mqttServicePort,
        ui: opts.ui,
        ...(opts.tls ? { tls: { port: opts.mqttsPort } } : {}),
      });
      printAddresses(stack);
      process.stderr.write('Press Ctrl-C to stop.\n');
      await untilStopped();
      process.stderr.write('\nStopping ...\n');
      await stack.stop();
      process.stderr.write('Stopped.\n');
    });
}

export function printAddresses(stack: LocalStack): void {
  const lines = [
    'dco is up:',
    `  Temporal   ${stack.temporalAddress}     (TEMPORAL_ADDRESS)`,
    `  Web UI     ${stack.uiUrl ?? '(off)'}`,
    `  MQTT       ${stack.mqttUrl}     (MQTT_URL of devices: a login's client ID is its username)`,
    ...(stack.mqttServiceUrl !== stack.mqttUrl
      ? [`  MQTT svc   ${stack.mqttServiceUrl}     (MQTT_URL of services: worker, bridge, dco devices, dco sim)`]
      : []),
    ...(stack.mqttsUrl && stack.tls ? [`  MQTT/TLS   ${stack.mqttsUrl}    (MQTT_URL, with MQTT_CA_FILE=${stack.tls.caFile})`] : []),
    `  metrics    ${stack.metricsUrls.worker} (worker), ${stack.metricsUrls.bridge} (bridge)`,
    `  logs       ${stack.logDir}`,
    `  rejected   ${path.join(stack.dataDir, 'deadletters')}     (dead letters: dco deadletters --dir <that>)`,
  ];
  process.stderr.write(lines.join('\n') + '\n');
}
