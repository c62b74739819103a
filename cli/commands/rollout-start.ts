import type { Connection } from '@temporalio/client';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { readRetainedStatuses } from '../../client/device-directory';
import { InvalidRequestError } from '../../client/dco-client';
import { RolloutClient } from '../../client/rollout-client';
import { TemplateClient, TemplateNotFoundError } from '../../client/template-client';
import type { TemporalTarget } from '../../config/temporal-connect';
import { TemplateName } from '../../protocol/rollout-template';
import { parseRatePerMinute, parseWaves, parseWaveSize, RolloutSpec, type RolloutSpecInput } from '../../protocol/rollout-spec';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { parseAbortOn, parseDuration, parseFactor, parseJsonObject, parsePositiveInt, parsePriority, parseRate } from '../parse-options';
import { UsageError } from '../usage-error';
import { withTemporal } from '../with-temporal';
import { follow } from './rollout-follow';
import { specFlags } from './rollout-spec-flags';
import { groupQueryOf, readTargetsFile, resolveWhere } from './rollout-targets';

/** The protocol's parsers throw plain errors; as InvalidArgumentError, commander reports them as a usage error naming the flag. */
const asArg =
  <T>(parse: (v: string) => T) =>
  (v: string) => {
    try {
      return parse(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

/** `--template name` or `name@3`. */
function parseTemplateOption(text: string): { name: string; version?: number } {
  const m = /^([^@]+)(?:@(\d+))?$/.exec(text.trim());
  const name = m ? TemplateName.safeParse(m[1]) : undefined;
  if (!m || !name?.success || (m[2] !== undefined && Number(m[2]) < 1))
    throw new InvalidArgumentError(`expected a template name, optionally with @version (firmware-update or firmware-update@3), got "${text}"`);
  return { name: m[1]!, ...(m[2] !== undefined ? { version: Number(m[2]) } : {}) };
}

/** `dco rollout start`, added to the `rollout` command; `connect` opens its one connection (see rolloutCommand). */
export function addStartCommand(rollout: Command, connect: (target: TemporalTarget) => Promise<Connection>): void {
  withConnectionOptions(rollout.command('start'))
    .description('start a rollout of <name> (the command) to the target devices')
    .argument('[name]', 'command name, e.g. update-firmware (not with --template: the template names it)')
    .addOption(
      new Option(
        '--template <name[@version]>',
        'make the rollout from this template (latest version, or @N); flags given here override its fields, --params merge over its params',
      ).argParser(parseTemplateOption),
    )
    .option('--targets <file>', 'device IDs, one per line (or a JSON array)')
    .option('--all', 'every device known from presence (retained status)')
    .addOption(
      new Option(
        '--where <query>',
        "the devices whose entity matches this query, e.g. \"DeviceFirmware = '1.0.0' AND DeviceTags = 'canary'\" (resolved once, at start)",
      ),
    )
    .option('--group <name>', 'the devices of this group (dco group): assigned to it, or matching its query (resolved at start)')
    .option(
      '--continuous',
      'with --where or --group: keep looking for devices that start matching (new ones, changed attributes) and send them the command too, until --end-at or cancel',
    )
    .addOption(
      new Option('--scan-every <duration>', 'with --continuous: how often to look for newly matching devices (default 1m, at least 1s)').argParser(
        parseDuration,
      ),
    )
    .addOption(new Option('--id <rolloutId>', 'rollout ID (default: <name>-<time>)'))
    .addOption(new Option('--params <json>', 'command parameters').argParser(parseJsonObject))
    .addOption(new Option('--canary <size>', 'canary: N devices or P% (default 1%)').argParser(asArg(parseWaveSize)))
    .addOption(new Option('--waves <sizes>', 'later waves, cumulative, e.g. 10%,50%,100% (default)').argParser(asArg(parseWaves)))
    .addOption(new Option('--soak <duration>', 'wait between waves').argParser(parseDuration))
    .addOption(new Option('--concurrency <n>', 'device commands in flight at once (default 100, max 2000)').argParser(parsePositiveInt))
    .addOption(new Option('--rate <n/min>', 'started commands per minute, e.g. 600/min').argParser(asArg(parseRatePerMinute)))
    .addOption(new Option('--start-at <time>', 'start no command before this ISO time, e.g. 2026-12-24T22:00:00+01:00'))
    .addOption(new Option('--end-at <time>', 'stop starting commands at this ISO time (those in flight finish)'))
    .option('--end-cancels-in-flight', 'with --end-at: also cancel the commands in flight then (each device is asked to stop)')
    .addOption(
      new Option(
        '--window <cron>',
        "start commands only in a recurring maintenance window opening at these times, e.g. '0 2 * * *' (with --window-duration, --window-tz)",
      ),
    )
    .addOption(new Option('--window-duration <duration>', 'how long each window stays open, e.g. 3h').argParser(parseDuration))
    .addOption(new Option('--window-tz <zone>', 'the IANA time zone of --window, e.g. Europe/Berlin (default UTC)'))
    .option('--window-device-tz', "with --window: in each device's own time zone (the one it reports); --window-tz is for devices that report none")
    .addOption(
      new Option('--rate-factor <f>', 'with --rate: multiply the rate by this after each --rate-every succeeded devices, e.g. 2').argParser(parseFactor),
    )
    .addOption(new Option('--rate-every <n>', 'with --rate-factor: succeeded devices per step up').argParser(parsePositiveInt))
    .addOption(new Option('--rate-max <n/min>', 'with --rate-factor: the highest rate, e.g. 6000/min').argParser(asArg(parseRatePerMinute)))
    .addOption(new Option('--abort-at <share>', 'abort when the failure share passes this, e.g. 10% (default)').argParser(parseRate))
    .addOption(
      new Option(
        '--abort-on <outcome=share,...>',
        'also abort when one kind passes its own share, e.g. timed-out=20%,rejected=0 (failed, rejected, timed-out, expired)',
      ).argParser(parseAbortOn),
    )
    .addOption(new Option('--min-finished <n>', 'verdicts needed before the abort rule applies (default 10)').argParser(parsePositiveInt))
    .option('--no-ramp-up', 'start each wave at full concurrency (default: start with --min-finished devices and double)')
    .option('--no-adaptive', 'keep --concurrency in flight whatever the latency (default: adapt, with --concurrency as the ceiling)')
    .addOption(
      new Option(
        '--lanes <n>',
        'workflows that start the commands, 1-16 (default 1: the rollout itself; when to use more: "Rollout lanes" in docs/operations.md)',
      )
        .env('DCO_ROLLOUT_LANES')
        .argParser(parsePositiveInt),
    )
    .option('--approve-after-canary', 'wait for `dco rollout approve` after the canary')
    .addOption(new Option('--ttl <duration>', 'time to live of each device command (default 10m)').argParser(parseDuration))
    .option('--serial', "each device's command waits for that device's serial commands ahead of it (dco send --serial)")
    .addOption(new Option('--priority <0-9>', "with --serial: the commands' priority in each device's queue (default 0)").argParser(parsePriority))
    .option('--wait', 'follow the rollout to its end: a progress bar per wave (or JSON lines with --json)')
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, opts) => {
      const settings = settingsFrom(opts, 'worker');
      if (opts.template !== undefined && name !== undefined)
        throw new UsageError('give the command name or --template, not both: the template names its command');
      if (opts.template === undefined && name === undefined)
        throw new UsageError('give the command name (e.g. `dco rollout start reboot --targets fleet.txt`) or --template NAME');
      if ([opts.targets, opts.all, opts.where, opts.group].filter((o) => o !== undefined && o !== false).length !== 1) {
        throw new UsageError('give exactly one of --targets FILE, --all, --where QUERY or --group NAME');
      }
      if (opts.priority !== undefined && !opts.serial) throw new UsageError('--priority orders serial commands: add --serial');
      if (opts.continuous && opts.where === undefined && opts.group === undefined)
        throw new UsageError('--continuous needs --where QUERY or --group NAME: the devices it keeps looking for');
      if (opts.scanEvery !== undefined && !opts.continuous) throw new UsageError('--scan-every goes with --continuous');
      const flags = specFlags(opts);
      // --targets and --all need no Temporal: read before connecting.
      let listed: string[] | undefined;
      if (opts.targets) listed = readTargetsFile(opts.targets);
      else if (opts.where === undefined && opts.group === undefined) {
        const statuses = await readRetainedStatuses({
          mqttUrl: settings.mqttUrl,
          username: settings.mqttUsername,
          password: settings.mqttPassword,
          topicPrefix: settings.topicPrefix,
        });
        listed = [...statuses.keys()].sort();
        if (!listed.length) throw new UsageError('--all: no device has published a status yet');
      }
      // One connection for the group's query, the --where resolution, the template and the start.
      await withTemporal(
        settings,
        async ({ client: temporal }) => {
          // A group is its query (an assigned group's: DeviceGroups = '<name>'), resolved like --where.
          const where: string | undefined = opts.group !== undefined ? await groupQueryOf(temporal, settings.taskQueue, opts.group) : opts.where;
          const targets =
            listed ?? (await resolveWhere(temporal, where!, opts.group !== undefined ? `--group ${opts.group}` : '--where', opts.continuous === true));
          const defaultId = (base: string) => `${base.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${Date.now().toString(36)}`;
          let input: RolloutSpecInput;
          if (opts.template !== undefined) {
            const ref = opts.template as { name: string; version?: number };
            input = await new TemplateClient(temporal, settings.taskQueue)
              .rolloutSpec(
                ref.name,
                { rolloutId: opts.id ?? defaultId(ref.name), targets, ...(opts.params ? { params: opts.params } : {}), overrides: flags },
                ref.version,
              )
              .catch((err: unknown) => {
                throw err instanceof InvalidRequestError || err instanceof TemplateNotFoundError
                  ? new UsageError(`--template ${ref.name}: ${err.message}`)
                  : err;
              });
          } else {
            input = { rolloutId: opts.id ?? defaultId(name!), name: name!, targets, ...(opts.params ? { params: opts.params } : {}), ...flags };
          }
          if (opts.continuous) input = { ...input, continuous: { query: where!, ...(opts.scanEvery !== undefined ? { scanEveryMs: opts.scanEvery } : {}) } };
          const check = RolloutSpec.safeParse(input);
          if (!check.success) throw new UsageError(z.prettifyError(check.error));
          const handle = await new RolloutClient(temporal, settings.taskQueue).start(input);
          if (!opts.wait) {
            process.stdout.write(opts.json ? JSON.stringify(await handle.status()) + '\n' : `${handle.rolloutId}\n`);
            return;
          }
          const final = await follow(handle, !!opts.json);
          if (final.state !== 'done') process.exitCode = 1;
        },
        connect,
      );
    });
}
