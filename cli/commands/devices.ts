import { Client } from '@temporalio/client';
import { Command } from 'commander';
import { listDevices } from '../../client/device-directory';
import { connectClient } from '../../config/temporal-connect';
import { settingsFrom, withConnectionOptions } from '../connection-options';

export function devicesCommand(): Command {
  return withConnectionOptions(new Command('devices'))
    .description('list devices: presence (online/offline), boot, last seen, open commands')
    .option('--json', 'print one JSON array')
    .action(async (opts) => {
      const settings = settingsFrom(opts, 'worker');
      const connection = await connectClient(settings);
      try {
        const devices = await listDevices(new Client({ connection, namespace: settings.namespace }), {
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
      } finally {
        await connection.close();
      }
    });
}
