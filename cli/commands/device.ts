import { Command, Option } from 'commander';
import { DEFAULT_BROKER_DIR } from '../../stack/local-credentials';
import { BrokerAuth } from '../../stack/broker-auth';
import { UsageError } from '../usage-error';

/**
 * Device credentials in the broker's password file (hashed by mosquitto_passwd). The broker
 * re-reads it on SIGHUP, which `add` and `rm` send when the broker runs from that directory.
 */
export function deviceCommand(): Command {
  const brokerDir = () => new Option('--broker-dir <dir>', "directory of the broker's password file, ACL and pid file").default(DEFAULT_BROKER_DIR);
  const device = new Command('device').description('manage device credentials');
  device
    .command('add')
    .description("create (or replace) a device's credentials; the password is printed once")
    .argument('<deviceId>')
    .addOption(brokerDir())
    .option('--json', 'print {deviceId, username, password} as JSON')
    .action(async (deviceId: string, opts) => {
      const auth = new BrokerAuth(opts.brokerDir);
      let password: string;
      try {
        password = auth.addDevice(deviceId);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      // When a broker runs from there: returns once it accepts the new credentials, so a
      // device started right after this command is not refused.
      const reloaded = await auth.reloadAndWait();
      if (opts.json) {
        process.stdout.write(JSON.stringify({ deviceId, username: deviceId, password, active: reloaded }) + '\n');
        return;
      }
      process.stdout.write(
        [
          `device ${deviceId}`,
          `  username: ${deviceId}`,
          `  password: ${password}    (shown once; only its hash is stored)`,
          reloaded
            ? '  active now: the broker reloaded its password file and accepts them'
            : `  no broker runs from ${opts.brokerDir}: active when it starts (or send it SIGHUP)`,
          '',
          'The device connects with these credentials and may only use its own topics, e.g.:',
          `  mosquitto_sub -V mqttv5 -u ${deviceId} -P '${password}' -q 1 -t devices/${deviceId}/commands`,
        ].join('\n') + '\n',
      );
    });
  device
    .command('rm')
    .description("revoke a device's credentials; a connected device is disconnected at once")
    .argument('<deviceId>')
    .addOption(brokerDir())
    .action((deviceId: string, opts) => {
      const auth = new BrokerAuth(opts.brokerDir);
      let removed: boolean;
      try {
        removed = auth.removeDevice(deviceId);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (!removed) throw new UsageError(`device ${deviceId} has no credentials in ${auth.passwordFile}`);
      const reloaded = auth.reload();
      process.stdout.write(
        reloaded
          ? `revoked ${deviceId}: the broker reloaded and disconnected it if it was connected\n`
          : `revoked ${deviceId} in ${auth.passwordFile}; no broker runs from there: reload yours (SIGHUP) to apply it\n`,
      );
    });
  return device;
}
