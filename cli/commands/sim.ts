import { Command, Option } from 'commander';
import path from 'node:path';
import { createLogger } from '../../config/logger';
import { Simulator } from '../../device/simulator';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parseDuration, parsePositiveInt, parseRate } from '../parse-options';

export function simCommand(): Command {
  return withConnectionOptions(new Command('sim'))
    .description('run simulated devices (reference device agents) until Ctrl-C')
    .addOption(new Option('--devices <n>', 'how many devices').default(5).argParser(parsePositiveInt))
    .addOption(new Option('--id-prefix <prefix>', 'device IDs are <prefix>001, <prefix>002, ...').default('sim-'))
    .addOption(new Option('--latency <duration>', 'mean execution time of a command').default(200, '200ms').argParser(parseDuration))
    .addOption(new Option('--failure-rate <share>', 'share of executions that fail').default(0).argParser(parseRate))
    .addOption(new Option('--reject-rate <share>', 'share of commands rejected').default(0).argParser(parseRate))
    .addOption(new Option('--drop-ack-rate <share>', 'share of acks never sent').default(0).argParser(parseRate))
    .addOption(new Option('--offline-rate <share>', 'share of devices that never come online').default(0).argParser(parseRate))
    .addOption(new Option('--data-dir <dir>', 'where device journals live').default(path.join('.data', 'sim')))
    .action(async (opts) => {
      const settings = settingsFrom(opts, 'gateway');
      const logger = createLogger('sim');
      const sim = new Simulator({
        devices: opts.devices,
        idPrefix: opts.idPrefix,
        mqttUrl: settings.mqttUrl,
        username: settings.mqttUsername,
        password: settings.mqttPassword,
        caFile: settings.mqttCaFile,
        topicPrefix: settings.topicPrefix,
        dataDir: opts.dataDir,
        latencyMs: opts.latency,
        failureRate: opts.failureRate,
        rejectRate: opts.rejectRate,
        dropAckRate: opts.dropAckRate,
        offlineRate: opts.offlineRate,
        onLog: (message, details) => logger.info(details ?? {}, message),
      });
      await sim.start();
      process.stderr.write(
        `${sim.agents.length} simulated devices online (${sim.agents[0]?.deviceId ?? '-'} … ${sim.agents.at(-1)?.deviceId ?? '-'})` +
          (sim.offline.length ? `, ${sim.offline.length} offline` : '') +
          '. Ctrl-C to stop.\n',
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.stop();
    });
}
