import { Command, Option } from 'commander';
import { LocalStack } from '../../stack/local-stack';
import { parsePort } from '../parse-options';

export function upCommand(): Command {
  return new Command('up')
    .description('start Temporal, Mosquitto, a worker and a bridge in the foreground; Ctrl-C stops them')
    .addOption(new Option('--data-dir <dir>', 'state of all services (survives restarts)').default('.data'))
    .addOption(new Option('--host <ip>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--temporal-port <port>', 'Temporal frontend port').default(7233).argParser(parsePort))
    .addOption(new Option('--ui-port <port>', 'Temporal Web UI port').default(8233).argParser(parsePort))
    .addOption(new Option('--mqtt-port <port>', 'MQTT port').default(1883).argParser(parsePort))
    .option('--no-ui', 'do not serve the Web UI')
    .action(async (opts) => {
      const stack = await LocalStack.start({
        dataDir: opts.dataDir,
        host: opts.host,
        temporalPort: opts.temporalPort,
        uiPort: opts.uiPort,
        mqttPort: opts.mqttPort,
        ui: opts.ui,
      });
      printAddresses(stack);
      process.stderr.write('Press Ctrl-C to stop.\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
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
    `  MQTT       ${stack.mqttUrl}     (MQTT_URL)`,
    `  logs       ${stack.logDir}`,
  ];
  process.stderr.write(lines.join('\n') + '\n');
}
