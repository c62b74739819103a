import { Option, type Command } from 'commander';
import { localCredentials } from '../stack/local-credentials';
import { loadSettings, SECRET_FILE_ENV, SETTINGS_ENV, type Settings } from '../config/settings';
import type { ServiceAccount } from '../stack/broker-auth';

/** Adds the connection flags every service command shares; each falls back to its env variable. */
export function withConnectionOptions(cmd: Command): Command {
  const flag = (name: string, key: keyof Settings, description: string) =>
    cmd.addOption(new Option(`--${name} <value>`, `${description} (env ${SETTINGS_ENV[key]})`));
  flag('temporal-address', 'temporalAddress', 'Temporal frontend host:port');
  flag('namespace', 'namespace', 'Temporal namespace');
  flag('task-queue', 'taskQueue', 'task queue of the command workers');
  flag('mqtt-url', 'mqttUrl', 'MQTT broker URL');
  flag('mqtt-username', 'mqttUsername', 'MQTT username');
  flag('mqtt-password', 'mqttPassword', 'MQTT password (visible in `ps`: prefer --mqtt-password-file)');
  cmd.addOption(new Option('--mqtt-password-file <file>', `file holding the MQTT password (env ${SECRET_FILE_ENV.mqttPassword})`));
  flag('mqtt-ca-file', 'mqttCaFile', 'CA certificate (PEM) that signed the broker certificate, for mqtts:// URLs');
  flag('topic-prefix', 'topicPrefix', 'first topic levels of device topics');
  // Temporal over TLS, mTLS or with an API key (docs/operations.md, "Connecting to Temporal").
  cmd.addOption(new Option('--temporal-tls', `connect to Temporal over TLS (env ${SETTINGS_ENV.temporalTls}=true; implied by the options below)`));
  flag('temporal-tls-ca-file', 'temporalTlsServerCaCertPath', 'PEM of the CA that signed the Temporal server certificate');
  flag('temporal-tls-cert-file', 'temporalTlsClientCertPath', 'mTLS: client certificate (PEM)');
  flag('temporal-tls-key-file', 'temporalTlsClientKeyPath', 'mTLS: client key (PEM)');
  flag('temporal-tls-server-name', 'temporalTlsServerName', 'name in the Temporal server certificate, if not the address host');
  cmd.addOption(
    new Option(
      '--temporal-api-key-file <file>',
      `file holding a Temporal API key, e.g. for Temporal Cloud (env ${SECRET_FILE_ENV.temporalApiKey}; or ${SETTINGS_ENV.temporalApiKey})`,
    ),
  );
  return cmd;
}

/**
 * Settings from flags and env. With `account`, a process next to a local `dco up` broker that
 * was given no MQTT credentials uses that service account's (see stack/local-credentials.ts).
 */
export function settingsFrom(opts: Record<string, any>, account?: ServiceAccount): Settings {
  const settings = loadSettings({
    temporalAddress: opts.temporalAddress,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    mqttUrl: opts.mqttUrl,
    mqttUsername: opts.mqttUsername,
    mqttPassword: opts.mqttPassword,
    mqttPasswordFile: opts.mqttPasswordFile,
    mqttCaFile: opts.mqttCaFile,
    topicPrefix: opts.topicPrefix,
    temporalTls: opts.temporalTls === true ? 'true' : undefined,
    temporalTlsServerCaCertPath: opts.temporalTlsCaFile,
    temporalTlsClientCertPath: opts.temporalTlsCertFile,
    temporalTlsClientKeyPath: opts.temporalTlsKeyFile,
    temporalTlsServerName: opts.temporalTlsServerName,
    temporalApiKeyFile: opts.temporalApiKeyFile,
  });
  if (account && !settings.mqttUsername) {
    const local = localCredentials(account);
    if (local) return { ...settings, mqttUsername: local.username, mqttPassword: local.password };
  }
  return settings;
}
