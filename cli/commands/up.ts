import { Command, Option } from 'commander';
import { LocalStack, MAX_INSTANCES } from '../../stack/local-stack';
import { parsePort, parsePositiveInt } from '../parse-options';
import { untilStopped } from '../until-stopped';

export function upCommand(): Command {
  return new Command('up')
    .description('start Temporal, Mosquitto, a worker and a bridge (or more) in the foreground; Ctrl-C stops them')
    .addOption(new Option('--data-dir <dir>', 'state of all services (survives restarts)').default('.data'))
    .addOption(new Option('--host <ip>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--temporal-port <port>', 'Temporal frontend port').default(7233).argParser(parsePort))
    .addOption(new Option('--ui-port <port>', 'Temporal Web UI port').default(8233).argParser(parsePort))
    .addOption(new Option('--mqtt-port <port>', 'MQTT port of the devices').default(1883).argParser(parsePort))
    .addOption(new Option('--mqtt-service-port <port>', 'MQTT port of our services (worker, bridge, dco sim --shared)').default(1884).argParser(parsePort))
    .option('--tls', 'also listen for MQTT over TLS (mqtts://), with a development CA and certificate made under <data-dir>/tls/ if missing')
    .addOption(new Option('--mqtts-port <port>', 'MQTT over TLS port (with --tls)').default(8883).argParser(parsePort))
    .option('--no-ui', 'do not serve the Web UI (dev server only)')
    .addOption(
      new Option(
        '--backend <kind>',
        "Temporal: dev (the CLI's dev server, SQLite) or postgres (temporal-server on a private PostgreSQL, as docker-compose.yml)",
      )
        .choices(['dev', 'postgres'])
        .default('dev'),
    )
    .option('--separate-services', "with --backend postgres: Temporal's frontend, history, matching and worker as processes of their own")
    .addOption(
      new Option('--instances <n>', `workers and bridges, each a process of its own (the bridges in one shared-subscription group), 1-${MAX_INSTANCES}`)
        .default(1)
        .argParser(parsePositiveInt),
    )
    .action(async (opts) => {
      const stack = await LocalStack.start({
        dataDir: opts.dataDir,
        host: opts.host,
        temporalPort: opts.temporalPort,
        uiPort: opts.uiPort,
        mqttPort: opts.mqttPort,
        mqttServicePort: opts.mqttServicePort,
        ui: opts.ui,
        backend: opts.backend,
        instances: opts.instances,
        separateServices: opts.separateServices === true,
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
    ...stack.serviceNames.map((name, i) => `  ${i === 0 ? 'metrics ' : '        '}   ${stack.metricsUrls[name]} (${name})`),
    `  logs       ${stack.logDir}`,
    ...stack.serviceNames
      .filter((name) => name.startsWith('bridge'))
      .map((name, i) => `  ${i === 0 ? 'rejected' : '        '}   ${stack.deadLetterDir(name)}     (dead letters of ${name}: dco deadletters --dir <that>)`),
  ];
  process.stderr.write(lines.join('\n') + '\n');
}
