import { Command, Option } from 'commander';
import path from 'node:path';
import { createLogger } from '../../config/logger';
import { checkShares } from '../../device/fleet-profiles';
import { FleetSimulator } from '../../device/fleet-simulator';
import { DEFAULT_SIMULATED_FIRMWARE, simulatedFirmware } from '../../device/simulated-attributes';
import { Simulator } from '../../device/simulator';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parseDuration, parsePositiveInt, parseRate } from '../parse-options';
import { untilStopped } from '../until-stopped';
import { UsageError } from '../usage-error';

export function simCommand(): Command {
  return withConnectionOptions(new Command('sim'))
    .description('run simulated devices (reference device agents) until Ctrl-C')
    .addOption(new Option('--devices <n>', 'how many devices').default(5).argParser(parsePositiveInt))
    .addOption(new Option('--id-prefix <prefix>', 'device IDs are <prefix>001, <prefix>002, ...').default('sim-'))
    .addOption(new Option('--latency <duration>', 'mean execution time of a command').default(200, '200ms').argParser(parseDuration))
    .addOption(
      new Option(
        '--failure-rate <share>',
        'share of devices that fail every command they run (simulated-failure): an exact count, e.g. 0.1 of 50 devices is 5 devices, chosen by --seed (offline + reject + failure rates at most 1)',
      )
        .default(0)
        .argParser(parseRate),
    )
    .addOption(
      new Option('--reject-rate <share>', 'share of devices that reject every command (simulated-rejection), exact like --failure-rate')
        .default(0)
        .argParser(parseRate),
    )
    .addOption(
      new Option('--drop-ack-rate <share>', 'share of commands whose ack is lost (the result still comes), chosen per command by --seed')
        .default(0)
        .argParser(parseRate),
    )
    .addOption(
      new Option(
        '--quick-result <duration>',
        'answer with the result alone (no ack) when a command finishes within this, e.g. 100ms (protocol rule 5; default: always ack first)',
      )
        .default(0, 'off')
        .argParser(parseDuration),
    )
    .addOption(new Option('--offline-rate <share>', 'share of devices that never come online, exact like --failure-rate').default(0).argParser(parseRate))
    .addOption(new Option('--data-dir <dir>', 'where device journals live').default(path.join('.data', 'sim')))
    .addOption(
      new Option(
        '--shared [connections]',
        'large fleets: devices share a few MQTT connections as a gateway (default: one connection per 2,000 devices)',
      ).argParser(parsePositiveInt),
    )
    .addOption(new Option('--slow-rate <share>', 'share of slow devices (10x latency), exact like --failure-rate').default(0).argParser(parseRate))
    .addOption(
      new Option('--seed <n>', 'picks which devices fail, reject, are offline or slow, and which acks are lost: the same seed, the same fleet')
        .default(1)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option(
        '--firmware <v>',
        "the firmware every device reports (status attributes; models sim-a/sim-b and sites site-0…3 follow the device's index)",
      ).default(DEFAULT_SIMULATED_FIRMWARE),
    )
    .action(async (opts) => {
      // A bad --firmware is a usage error (exit 2) before anything connects.
      try {
        simulatedFirmware(opts.firmware);
      } catch (err) {
        throw new UsageError(`--firmware: ${(err as Error).message}`);
      }
      try {
        checkShares(opts);
      } catch {
        // Each rate alone is already between 0 and 1 (parseRate): only their sum can be wrong.
        throw new UsageError('--offline-rate + --reject-rate + --failure-rate must not exceed 1: each device has at most one of these traits');
      }
      const settings = settingsFrom(opts, 'gateway');
      const logger = createLogger('sim');
      if (opts.shared !== undefined) return runShared(opts, settings, logger);
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
        quickResultMs: opts.quickResult,
        offlineRate: opts.offlineRate,
        slowRate: opts.slowRate,
        seed: opts.seed,
        firmware: opts.firmware,
        onLog: (message, details) => logger.info(details ?? {}, message),
      });
      await sim.start();
      process.stderr.write(
        `${sim.agents.length} simulated devices online (${sim.agents[0]?.deviceId ?? '-'} … ${sim.agents.at(-1)?.deviceId ?? '-'})` +
          (sim.offline.length ? `, ${sim.offline.length} offline` : '') +
          '. Ctrl-C to stop.\n',
      );
      await untilStopped();
      await sim.stop();
    });
}

/** 10,000+ devices on a 2-core machine: the fleet simulator, speaking for them over shared connections. */
async function runShared(opts: Record<string, any>, settings: ReturnType<typeof settingsFrom>, logger: ReturnType<typeof createLogger>): Promise<void> {
  const started = Date.now();
  const fleet = new FleetSimulator({
    devices: opts.devices,
    idPrefix: opts.idPrefix,
    mqttUrl: settings.mqttUrl,
    username: settings.mqttUsername,
    password: settings.mqttPassword,
    topicPrefix: settings.topicPrefix,
    mode: 'shared',
    ...(typeof opts.shared === 'number' ? { connections: opts.shared } : {}),
    journalDir: path.join(opts.dataDir, 'fleet'),
    seed: opts.seed,
    latencyMs: opts.latency,
    slowLatencyMs: opts.latency * 10,
    failureRate: opts.failureRate,
    rejectRate: opts.rejectRate,
    dropAckRate: opts.dropAckRate,
    quickResultMs: opts.quickResult,
    offlineRate: opts.offlineRate,
    slowRate: opts.slowRate,
    firmware: opts.firmware,
    onLog: (message, details) => logger.info(details ?? {}, message),
  });
  await fleet.start();
  const s = fleet.stats();
  process.stderr.write(
    `${s.online} of ${s.devices} simulated devices online over ${s.connections} shared connections in ${Date.now() - started} ms. Ctrl-C to stop.\n`,
  );
  const report = setInterval(() => logger.info({ stats: fleet.stats() }, 'fleet'), 30_000);
  await untilStopped();
  clearInterval(report);
  await fleet.stop();
  process.stderr.write(`${JSON.stringify(fleet.stats())}\n`);
}
