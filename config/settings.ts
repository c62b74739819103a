import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { COMMAND_TASK_QUEUE } from '../protocol/command-contract';
import { DEFAULT_TOPIC_PREFIX, isValidTopicPrefix } from '../protocol/topics';

/**
 * Connection settings shared by every process. Each comes from a CLI flag, else the
 * environment variable named here, else the default (a local `dco up`).
 */
export const Settings = z.object({
  temporalAddress: z.string().min(1).default('localhost:7233'),
  namespace: z.string().min(1).default('default'),
  taskQueue: z.string().min(1).default(COMMAND_TASK_QUEUE),
  mqttUrl: z
    .string()
    .refine(isMqttUrl, 'must be a broker URL with a host, e.g. mqtt://localhost:1883 (schemes mqtt, mqtts, ws, wss, tcp)')
    .default('mqtt://localhost:1883'),
  mqttUsername: z.string().optional(),
  mqttPassword: z.string().optional(),
  /** PEM file of the CA that signed the broker's certificate, for mqtts:// (and wss://) URLs. */
  mqttCaFile: z
    .string()
    .refine((f) => existsSync(f), 'no such file (expected the PEM file of the CA that signed the broker certificate)')
    .optional(),
  topicPrefix: z
    .string()
    .refine(isValidTopicPrefix, 'topic prefix must be plain topic levels, e.g. "devices" or "site1/devices"')
    .default(DEFAULT_TOPIC_PREFIX),
  // Temporal over TLS (a self-hosted cluster with TLS or mTLS, Temporal Cloud): the names of
  // Temporal's own environment configuration, so one set of variables serves dco and the SDKs.
  /** TLS with the system's CAs; implied by any other TLS setting or an API key. `false` turns it off. */
  temporalTls: z.enum(['true', 'false', '1', '0']).optional(),
  /** PEM of the CA that signed the Temporal frontend's certificate (a private CA). */
  temporalTlsServerCaCertPath: existingFile('the PEM file of the CA that signed the Temporal server certificate'),
  /** mTLS: this client's certificate and key (PEM). */
  temporalTlsClientCertPath: existingFile('the PEM file of the client certificate'),
  temporalTlsClientKeyPath: existingFile('the PEM file of the client key'),
  /** The name in the server's certificate, when it differs from the address's host. */
  temporalTlsServerName: z.string().min(1).optional(),
  /** Temporal Cloud API key (prefer TEMPORAL_API_KEY_FILE: it then appears in no environment). */
  temporalApiKey: z.string().min(1).optional(),
});
export type Settings = z.infer<typeof Settings>;

function existingFile(what: string) {
  return z
    .string()
    .refine((f) => existsSync(f), `no such file (expected ${what})`)
    .optional();
}

function isMqttUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return /^(mqtts?|wss?|tcp):$/.test(u.protocol) && /^[a-z]+:\/\/[^/]/.test(value) && u.hostname !== '';
  } catch {
    return false;
  }
}

export const SETTINGS_ENV: Record<keyof Settings, string> = {
  temporalAddress: 'TEMPORAL_ADDRESS',
  namespace: 'TEMPORAL_NAMESPACE',
  taskQueue: 'DCO_TASK_QUEUE',
  mqttUrl: 'MQTT_URL',
  mqttUsername: 'MQTT_USERNAME',
  mqttPassword: 'MQTT_PASSWORD',
  mqttCaFile: 'MQTT_CA_FILE',
  topicPrefix: 'DCO_TOPIC_PREFIX',
  temporalTls: 'TEMPORAL_TLS',
  temporalTlsServerCaCertPath: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  temporalTlsClientCertPath: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  temporalTlsClientKeyPath: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  temporalTlsServerName: 'TEMPORAL_TLS_SERVER_NAME',
  temporalApiKey: 'TEMPORAL_API_KEY',
};

/**
 * Secrets may come from a file instead (the `*_FILE` convention of container images), so they
 * appear on no command line and in no process environment: `--mqtt-password-file` or
 * `MQTT_PASSWORD_FILE` names a file whose content (one trailing newline dropped) is the password.
 */
export const SECRET_FILE_ENV = { mqttPassword: 'MQTT_PASSWORD_FILE', temporalApiKey: 'TEMPORAL_API_KEY_FILE' } as const;
type SecretKey = keyof typeof SECRET_FILE_ENV;

export type SettingsFlags = Partial<Record<keyof Settings | 'mqttPasswordFile' | 'temporalApiKeyFile', string | undefined>>;

/** Flags win over the environment; invalid values fail with the name of the setting. */
export function loadSettings(flags: SettingsFlags = {}, env = process.env): Settings {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(SETTINGS_ENV) as (keyof Settings)[]) {
    // An empty variable counts as unset, as shells and compose files often leave them.
    raw[key] = flags[key] || env[SETTINGS_ENV[key]] || undefined;
  }
  const fileFlags: Record<SecretKey, string | undefined> = { mqttPassword: flags.mqttPasswordFile, temporalApiKey: flags.temporalApiKeyFile };
  for (const key of Object.keys(SECRET_FILE_ENV) as SecretKey[]) {
    const file = fileFlags[key] || env[SECRET_FILE_ENV[key]] || undefined;
    if (!file) continue;
    if (raw[key]) throw new Error(`invalid settings:\n  ${key}: give ${SETTINGS_ENV[key]} or ${SECRET_FILE_ENV[key]}, not both`);
    raw[key] = readSecretFile(file, SECRET_FILE_ENV[key]);
  }
  const parsed = Settings.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]) as keyof Settings;
      return `${key} (${SETTINGS_ENV[key]}): ${i.message}`;
    });
    throw new Error(`invalid settings:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

/** The secret in `file`, without the newline an editor or `echo` leaves at its end. */
export function readSecretFile(file: string, setting: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `invalid settings:\n  ${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); it must name a readable file holding the secret`,
    );
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new Error(`invalid settings:\n  ${setting}: ${file} is empty; it must hold the secret`);
  return secret;
}
