import { Command } from 'commander';
import ms from 'ms';
import { z } from 'zod';
import { InvalidDeviceIdError, showDevice, type DeviceView } from '../../client/device-entity';
import { listDevices } from '../../client/device-directory';
import { DeviceId } from '../../protocol/ids';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { UsageError } from '../usage-error';
import { withTemporal } from '../with-temporal';

/** `dco devices` lists what the broker holds; `dco devices show <deviceId>` is one device's record. */
export function devicesCommand(): Command {
  const devices = withConnectionOptions(new Command('devices'))
    .description('list devices: presence (online/offline), boot, last seen, open commands; `show <deviceId>` for one device')
    .option('--json', 'print one JSON array')
    // Options after `show` are show's own (`dco devices show pump-7 --json`), not the listing's.
    .enablePositionalOptions()
    .action(async (opts) => {
      const settings = settingsFrom(opts, 'worker');
      await withTemporal(settings, async ({ client }) => {
        const devices = await listDevices(client, {
          mqttUrl: settings.mqttUrl,
          username: settings.mqttUsername,
          password: settings.mqttPassword,
          caFile: settings.mqttCaFile,
          topicPrefix: settings.topicPrefix,
        });
        if (opts.json) {
          process.stdout.write(JSON.stringify(devices) + '\n');
          return;
        }
        const rows = devices.map((d) => [
          d.deviceId,
          d.state,
          d.bootId ?? '-',
          d.lastSeen ?? '-',
          d.openCommands.length ? d.openCommands.map((c) => `${c.commandId} (${c.state})`).join(', ') : '-',
        ]);
        const header = ['DEVICE', 'STATE', 'BOOT', 'LAST SEEN', 'OPEN COMMANDS'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        for (const r of [header, ...rows]) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n');
        if (!devices.length) process.stderr.write('no devices have published a status yet\n');
      });
    });

  withConnectionOptions(devices.command('show'))
    .description("show one device's record: presence, boot, attributes, recent events, open commands")
    .argument('<deviceId>')
    .option('--json', 'print one JSON object')
    .action(async (deviceId: string, opts) => {
      const id = DeviceId.safeParse(deviceId);
      if (!id.success) throw new UsageError(z.prettifyError(id.error));
      const settings = settingsFrom(opts);
      await withTemporal(settings, async ({ client }) => {
        const view = await showDevice(client, deviceId).catch((err: unknown) => {
          throw err instanceof InvalidDeviceIdError ? new UsageError(err.message) : err;
        });
        if (opts.json) process.stdout.write(JSON.stringify(view) + '\n');
        else if (view.entity || view.openCommands.length) process.stdout.write(deviceText(view));
        if (!view.entity) {
          process.stderr.write(
            `error: no record of device ${deviceId} in namespace ${settings.namespace}: it is created by the device's first status ` +
              `while \`dco bridge\` runs (is one running, on this broker and topic prefix?). \`dco devices\` lists the statuses the broker holds.\n`,
          );
          process.exitCode = 1;
        }
      });
    });
  return devices;
}

/** `2026-02-04T10:00:00.000Z (5m ago)`, or `-`. */
function when(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const age = now - Date.parse(iso);
  return Number.isFinite(age) && age >= 0 ? `${iso} (${ms(age)} ago)` : iso;
}

/** The readable block of `dco devices show`. */
export function deviceText(view: DeviceView, now = Date.now()): string {
  const lines: string[] = [];
  const field = (name: string, value: string) => lines.push(`  ${`${name}:`.padEnd(15)} ${value}`);
  const e = view.entity;
  if (e) {
    lines.push(
      `device ${view.deviceId}: ${e.presence}${e.presenceSince ? ` since ${when(e.presenceSince, now)}` : e.presence === 'unknown' ? ' (no status received yet)' : ''}`,
    );
    field('boot', e.bootId ? `${e.bootId} (${e.boots} boot${e.boots === 1 ? '' : 's'} seen)` : '-');
    field('last status', `${when(e.lastStatusAt, now)}${e.lastStatusAt ? ', as received by the bridge' : ''}`);
    field('device clock', `${e.deviceTs ?? '-'}${e.deviceTs ? ', the ts of that status' : ''}`);
    field('first seen', when(e.firstSeenAt, now));
    const a = e.attributes;
    field('model', a.model ?? '-');
    field('firmware', a.firmware ?? '-');
    field('site', a.site ?? '-');
    field('time zone', a.timeZone ?? '-');
    field('tags', a.tags?.length ? a.tags.join(', ') : '-');
    field('groups', e.groups?.length ? e.groups.join(', ') : '-');
    lines.push(e.recent.length ? 'recent events (newest last):' : 'recent events: none');
    const kind = Math.max(0, ...e.recent.map((r) => r.event.length));
    for (const r of e.recent) lines.push(`  ${r.at}  ${r.event.padEnd(kind)}  ${r.detail}`);
  } else {
    lines.push(`device ${view.deviceId}: no record`);
  }
  lines.push(view.openCommands.length ? 'open commands (oldest first):' : 'open commands: none');
  const idWidth = Math.max(0, ...view.openCommands.map((c) => c.commandId.length));
  const stateWidth = Math.max(0, ...view.openCommands.map((c) => c.state.length));
  for (const c of view.openCommands) lines.push(`  ${c.commandId.padEnd(idWidth)}  ${c.state.padEnd(stateWidth)}  started ${when(c.startedAt, now)}`);
  if (e?.queue) {
    const q = e.queue;
    lines.push(`serial queue: ${q.served} served${q.reclaimed ? `, ${q.reclaimed} reclaimed` : ''}`);
    lines.push(
      q.inFlight
        ? `  in flight: ${q.inFlight.commandId} (${q.inFlight.name}, priority ${q.inFlight.priority}) since ${when(q.inFlight.grantedAt, now)}`
        : '  in flight: none',
    );
    if (q.waiting.length === 0) lines.push('  waiting: none');
    else
      lines.push(
        '  waiting (next first):',
        ...q.waiting.map((w, i) => `    ${i + 1}. ${w.commandId} (${w.name}, priority ${w.priority}) since ${when(w.enqueuedAt, now)}`),
      );
  }
  if (e?.watchers) {
    lines.push(
      `woken by the entity when the device returns, reboots or asks: ${e.watchers.length ? e.watchers.map((w) => w.commandId).join(', ') : 'none now'} (${e.wakes ?? 0} wake-up${e.wakes === 1 ? '' : 's'} sent)`,
    );
  }
  if (e) lines.push(`reports: ${e.reports.applied} applied, ${e.reports.stale} stale (older than the latest applied), ${e.reports.invalid} invalid`);
  return lines.join('\n') + '\n';
}
