import pMap from 'p-map';
import { Command } from 'commander';
import { GroupClient, GroupNotFoundError, GroupRefusedError } from '../../client/group-client';
import type { GroupView } from '../../protocol/device-group-contract';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { UsageError } from '../usage-error';
import { withTemporal } from '../with-temporal';
import { readTargetsFile } from './rollout-targets';

/** Runs `act` with a group client; its refusals become usage errors (exit code 2). */
async function withGroups<T>(opts: Record<string, unknown>, act: (groups: GroupClient) => Promise<T>): Promise<T> {
  const settings = settingsFrom(opts);
  return withTemporal(settings, ({ client }) =>
    act(new GroupClient(client, settings.taskQueue)).catch((err: unknown) => {
      if (err instanceof GroupNotFoundError || err instanceof GroupRefusedError) throw new UsageError(err.message);
      throw err;
    }),
  );
}

/** Device IDs from arguments and/or `--targets FILE`. */
function deviceIdsOf(args: string[], file: string | undefined): string[] {
  const ids = [...args, ...(file ? readTargetsFile(file) : [])];
  return [...new Set(ids)];
}

/** A line of progress on stderr every 500 devices (and at the end), for large assignments. */
const progress = (total: number) => (done: number) => {
  if (done % 500 === 0 || done === total) process.stderr.write(`${done}/${total} devices\n`);
};

/** Visibility counts in flight at once for `group list`: a few, whatever the number of groups. */
const COUNTS_AT_ONCE = 4;

/**
 * Every group with its number of devices: one visibility count each, a few at a time. A group
 * whose count fails shows `devices: null` and why; the others are still listed.
 */
async function listWithCounts(g: GroupClient): Promise<Array<GroupView & { devices: number | null; countError?: string }>> {
  const views = await g.list();
  const rows: Array<GroupView & { devices: number | null; countError?: string }> = views.map((v) => ({ ...v, devices: null }));
  await pMap(
    rows,
    async (row) => {
      try {
        row.devices = await g.memberCount(row);
      } catch (err) {
        row.countError = err instanceof Error ? err.message : String(err);
      }
    },
    { concurrency: COUNTS_AT_ONCE },
  );
  return rows;
}

/** `dco group create|list|show|assign|unassign|delete`: named device groups for `dco rollout start --group`. */
export function groupCommand(): Command {
  const group = new Command('group').description('named device groups: assigned devices, or a saved query (dco rollout start --group NAME)');
  withConnectionOptions(group.command('create'))
    .description('create a group (or change its description or query): without --where, devices are assigned to it by name')
    .argument('<name>', 'group name, e.g. pumps-north')
    .option('--where <query>', "a query group: the devices matching this, e.g. \"DeviceModel = 'pump-x' AND DeviceSite = 'north'\"")
    .option('--description <text>', 'what the group is for')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts) => {
      const view = await withGroups(opts, (g) =>
        g.define(name, { ...(opts.where !== undefined ? { where: opts.where } : {}), ...(opts.description ? { description: opts.description } : {}) }),
      );
      process.stdout.write(
        opts.json ? JSON.stringify(view) + '\n' : `group ${name}: ${view.where ? `devices matching ${view.where}` : 'assigned devices (dco group assign)'}\n`,
      );
    });
  withConnectionOptions(group.command('list'))
    .description('every group, with its kind and number of devices')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      const rows = await withGroups(opts, listWithCounts);
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows) + '\n');
        return;
      }
      if (!rows.length) process.stdout.write('no groups yet: `dco group create NAME [--where QUERY]`\n');
      for (const r of rows)
        process.stdout.write(
          `${r.name.padEnd(24)} ${String(r.devices ?? '?').padStart(6)} devices  ${r.where ? `where ${r.where}` : 'assigned'}${r.description ? `  ${r.description}` : ''}\n`,
        );
      for (const r of rows) if (r.countError) process.stderr.write(`group ${r.name}: could not count its devices: ${r.countError}\n`);
    });
  withConnectionOptions(group.command('show'))
    .description("a group's definition and its devices now")
    .argument('<name>')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts) => {
      const { view, members } = await withGroups(opts, async (g) => ({ view: await g.get(name), members: await g.members(name) }));
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ...view, devices: members }) + '\n');
        return;
      }
      process.stdout.write(
        `group ${name}: ${view.where ? `devices matching ${view.where}` : 'assigned devices'}${view.description ? ` · ${view.description}` : ''}\n`,
      );
      process.stdout.write(`${members.length} devices${members.length ? `: ${members.slice(0, 50).join(' ')}${members.length > 50 ? ' ...' : ''}` : ''}\n`);
    });
  withConnectionOptions(group.command('assign'))
    .description('put devices in an assigned group (each device keeps the label; a device never seen is remembered too)')
    .argument('<name>')
    .argument('[deviceIds...]')
    .option('--targets <file>', 'device IDs, one per line (or a JSON array)')
    .action(async (name: string, args: string[], opts) => {
      const ids = deviceIdsOf(args, opts.targets);
      if (!ids.length) throw new UsageError('give device IDs, or --targets FILE');
      await withGroups(opts, (g) => g.assign(name, ids, ids.length >= 500 ? progress(ids.length) : undefined));
      process.stdout.write(`group ${name}: ${ids.length} devices assigned\n`);
    });
  withConnectionOptions(group.command('unassign'))
    .description('take devices out of an assigned group')
    .argument('<name>')
    .argument('[deviceIds...]')
    .option('--targets <file>', 'device IDs, one per line (or a JSON array)')
    .option('--all', 'every device assigned to it')
    .action(async (name: string, args: string[], opts) => {
      const ids = deviceIdsOf(args, opts.targets);
      if (!!opts.all === ids.length > 0) throw new UsageError('give device IDs (or --targets FILE), or --all');
      const removed = await withGroups(opts, (g) => g.unassign(name, opts.all ? 'all' : ids));
      process.stdout.write(`group ${name}: ${removed.length} devices unassigned\n`);
    });
  withConnectionOptions(group.command('delete'))
    .description('delete a group (an assigned group must have no devices left)')
    .argument('<name>')
    .action(async (name: string, opts) => {
      await withGroups(opts, (g) => g.delete(name));
      process.stdout.write(`group ${name}: deleted\n`);
    });
  return group;
}
