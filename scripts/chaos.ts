/**
 * `npm run chaos -- --devices 100 --commands 1000 [--duration 10m] [--kill-every 4s] [--seed 42]
 *  [--data-dir DIR] [--backend dev|postgres [--separate-services]] [--json]`
 *
 * Starts Temporal, Mosquitto, a worker, a bridge and the simulated devices as separate
 * processes, sends commands with mixed outcomes, kills (SIGKILL) and restarts random processes
 * meanwhile, then checks from Temporal and every device journal that no command is left open
 * past its deadline, none ran twice, and every journal agrees with Temporal. Exit code 1 if any
 * of the three counts is not 0. See test/chaos/ and docs/operations.md, "Surviving restarts".
 */
import { Command, Option } from 'commander';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { parseDuration, parsePositiveInt } from '../cli/parse-options';
import { tempDirForPostgres } from '../stack/postgres-cluster';
import { formatReport } from '../test/chaos/report';
import { installReaper } from '../test/chaos/reaper';
import { CHAOS_DEFAULTS, runChaos } from '../test/chaos/run-chaos';

const d = CHAOS_DEFAULTS;
const program = new Command('chaos')
  .description('kill -9 every part of dco at random while commands run, then check nothing was lost, doubled or misreported')
  .addOption(new Option('--devices <n>', 'simulated devices').default(d.devices).argParser(parsePositiveInt))
  .addOption(new Option('--commands <n>', 'commands to send').default(d.commands).argParser(parsePositiveInt))
  .addOption(
    new Option('--duration <duration>', 'how long processes are killed (commands are sent during the first 80%)')
      .default(d.durationMs, '10m')
      .argParser(parseDuration),
  )
  .addOption(new Option('--kill-every <duration>', 'mean time between two kills').default(d.killEveryMs, '4s').argParser(parseDuration))
  .addOption(new Option('--seed <n>', 'seed of every random choice (devices, commands, kills)').default(d.seed).argParser((v) => parseInt(v, 10)))
  .addOption(new Option('--data-dir <dir>', 'data, logs and journals (default: a new temporary directory)'))
  .addOption(
    new Option('--max-outage <duration>', 'bound on a stretch with any process down; command deadlines are sized from it')
      .default(d.maxOutageMs, '60s')
      .argParser(parseDuration),
  )
  .addOption(new Option('--max-downtime <duration>', 'longest wait between a kill and the restart').default(d.maxDowntimeMs, '3s').argParser(parseDuration))
  .addOption(new Option('--ack-timeout <duration>', 'per-attempt ack timeout of every command').default(d.ackTimeoutMs, '10s').argParser(parseDuration))
  .addOption(
    new Option('--backend <kind>', 'Temporal: dev (the dev server) or postgres (temporal-server on PostgreSQL, which is killed too)')
      .choices(['dev', 'postgres'])
      .default('dev'),
  )
  .addOption(
    new Option(
      '--separate-services',
      "with --backend postgres: Temporal's four services as processes of their own, each killed alone (not temporal-server whole)",
    ),
  )
  .addOption(new Option('--json', 'print the report as JSON on stdout (progress stays on stderr)'))
  .action(async (opts) => {
    if (opts.separateServices && opts.backend !== 'postgres') {
      process.stderr.write('chaos: --separate-services needs --backend postgres (the dev server is one process)\n');
      process.exit(2);
    }
    // A directory the caller gave is theirs to open for PostgreSQL.
    const dataDir = path.resolve(
      opts.dataDir ?? (opts.backend === 'postgres' ? tempDirForPostgres('dco-chaos-') : mkdtempSync(path.join(os.tmpdir(), 'dco-chaos-'))),
    );
    installReaper();
    const report = await runChaos({
      ...d,
      devices: opts.devices,
      commands: opts.commands,
      durationMs: opts.duration,
      killEveryMs: opts.killEvery,
      seed: opts.seed,
      dataDir,
      maxOutageMs: opts.maxOutage,
      maxDowntimeMs: opts.maxDowntime,
      minDowntimeMs: Math.min(d.minDowntimeMs, opts.maxDowntime),
      ackTimeoutMs: opts.ackTimeout,
      backend: opts.backend,
      separateServices: opts.separateServices === true,
      log: (line) => process.stderr.write(line + '\n'),
    });
    if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(formatReport(report));
    process.exitCode = report.passed ? 0 : 1;
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
