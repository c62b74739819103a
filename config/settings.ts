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
  mqttCaFile: z.string().refine((f) => existsSync(f), 'no such file (expected the PEM file of the CA that signed the broker certificate)').optional(),
  topicPrefix: z
    .string()
    .refine(isValidTopicPrefix, 'topic prefix must be plain topic levels, e.g. "devices" or "site1/devices"')
    .default(DEFAULT_TOPIC_PREFIX),
});
export type Settings = z.infer<typeof Settings>;

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
};

/**
 * Secrets may come from a file instead (the `*_FILE` convention of container images), so they
 * appear on no command line and in no process environment: `--mqtt-password-file` or
 * `MQTT_PASSWORD_FILE` names a file whose content (one trailing newline dropped) is the password.
 */
export const SECRET_FILE_ENV = { mqttPassword: 'MQTT_PASSWORD_FILE' } as const;

export type SettingsFlags = Partial<Record<keyof Settings | 'mqttPasswordFile', string | undefined>>;

/** Flags win over the environment; invalid values fail with the name of the setting. */
export function loadSettings(flags: SettingsFlags = {}, env = process.env): Settings {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(SETTINGS_ENV) as (keyof Settings)[]) {
    // An empty variable counts as unset, as shells and compose files often leave them.
    raw[key] = flags[key] || env[SETTINGS_ENV[key]] || undefined;
  }
  const passwordFile = flags.mqttPasswordFile || env[SECRET_FILE_ENV.mqttPassword] || undefined;
  if (passwordFile) {
    if (raw.mqttPassword) {
      throw new Error(`invalid settings:\n  mqttPassword: give ${SETTINGS_ENV.mqttPassword} or ${SECRET_FILE_ENV.mqttPassword} (--mqtt-password or --mqtt-password-file), not both`);
    }
    raw.mqttPassword = readSecretFile(passwordFile, SECRET_FILE_ENV.mqttPassword);
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
    throw new Error(`invalid settings:\n  ${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); it must name a readable file holding the secret`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new Error(`invalid settings:\n  ${setting}: ${file} is empty; it must hold the secret`);
  return secret;
}
