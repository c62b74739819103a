import { Command, Option } from 'commander';
import { NothingToRetryError, RolloutClient, RolloutStillRunningError } from '../../client/rollout-client';
import { csvHeader, csvLine, kebabOf, REPORT_STATES, reportStateOf, type ReportState, type RolloutReportRow } from '../../client/rollout-report';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { UsageError } from '../usage-error';
import { withTemporal } from '../with-temporal';

/** `--only failed,timed-out` → the report states; an unknown name is a usage error that lists the known ones. */
export function parseOnly(list: string): ReportState[] {
  const states = list
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((name) => {
      const state = reportStateOf(name);
      if (!state) throw new UsageError(`--only: unknown outcome ${JSON.stringify(name.trim())}; use ${REPORT_STATES.map(kebabOf).join(', ')}`);
      return state;
    });
  if (states.length === 0) throw new UsageError('--only: give at least one outcome, e.g. --only failed,timed-out');
  return [...new Set(states)];
}

/** Counts per state, for the line on stderr after a report. */
function tally(counts: Map<string, number>, row: RolloutReportRow): void {
  counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
}
const tallyLine = (counts: Map<string, number>, total: number) =>
  `${total} devices: ${[...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([state, n]) => `${kebabOf(state as ReportState)} ${n}`)
    .join(', ')}\n`;

/** `dco rollout report` and `dco rollout retry`, added to the `rollout` command. */
export function addReportCommands(rollout: Command): void {
  withConnectionOptions(rollout.command('report'))
    .description("every device's outcome, attempts and times, streamed (CSV or a JSON array) to stdout; a count per outcome on stderr")
    .argument('<rolloutId>')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .action(async (rolloutId: string, opts) => {
      const settings = settingsFrom(opts);
      await withTemporal(settings, async ({ client }) => {
        const handle = new RolloutClient(client, settings.taskQueue).get(rolloutId);
        const counts = new Map<string, number>();
        let total = 0;
        const out = process.stdout;
        out.write(opts.format === 'csv' ? csvHeader() : '[');
        for await (const row of handle.report()) {
          tally(counts, row);
          const line = opts.format === 'csv' ? csvLine(row) : `${total === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`;
          total++;
          // Backpressure: a report of 100,000 devices piped into a slow reader does not pile up in memory.
          if (!out.write(line)) await new Promise((r) => out.once('drain', r));
        }
        if (opts.format === 'json') out.write(total === 0 ? ']\n' : '\n]\n');
        process.stderr.write(tallyLine(counts, total));
      }).catch(rethrowAsUsageError);
    });

  withConnectionOptions(rollout.command('retry'))
    .description('start a follow-up rollout of the same command and settings, to the devices with the given outcomes')
    .argument('<rolloutId>', 'the rollout that has ended')
    .requiredOption('--only <outcomes>', `comma-separated: ${REPORT_STATES.map(kebabOf).join(', ')}`, parseOnly)
    .option('--id <rolloutId>', 'the follow-up rollout ID (default: <rolloutId>-r<time>)')
    .option('--json', 'machine-readable output')
    .action(async (rolloutId: string, opts) => {
      const settings = settingsFrom(opts, 'worker');
      await withTemporal(settings, async ({ client }) => {
        const { handle, devices } = await new RolloutClient(client, settings.taskQueue).retry(rolloutId, opts.only, opts.id);
        process.stdout.write(opts.json ? JSON.stringify({ rolloutId: handle.rolloutId, devices: devices.length }) + '\n' : `${handle.rolloutId}\n`);
        if (!opts.json)
          process.stderr.write(
            `follow-up of ${rolloutId}: ${devices.length} devices (${opts.only.map(kebabOf).join(', ')}); follow it with \`dco rollout status ${handle.rolloutId} --wait\`\n`,
          );
      }).catch(rethrowAsUsageError);
    });
}

/** Mistakes of the caller exit 2 with the reason: nothing to retry, still running (a bad ID: withTemporal). */
function rethrowAsUsageError(err: unknown): never {
  if (err instanceof NothingToRetryError || err instanceof RolloutStillRunningError) throw new UsageError(err.message);
  throw err;
}
