import { Option, type Command } from 'commander';
import { loadSettings, SETTINGS_ENV, type Settings } from '../config/settings';

/** Adds the connection flags every service command shares; each falls back to its env variable. */
export function withConnectionOptions(cmd: Command): Command {
  const flag = (name: string, key: keyof Settings, description: string) =>
    cmd.addOption(new Option(`--${name} <value>`, `${description} (env ${SETTINGS_ENV[key]})`));
  flag('temporal-address', 'temporalAddress', 'Temporal frontend host:port');
  flag('namespace', 'namespace', 'Temporal namespace');
  flag('task-queue', 'taskQueue', 'task queue of the command workers');
  flag('mqtt-url', 'mqttUrl', 'MQTT broker URL');
  flag('mqtt-username', 'mqttUsername', 'MQTT username');
  flag('mqtt-password', 'mqttPassword', 'MQTT password');
  flag('topic-prefix', 'topicPrefix', 'first topic levels of device topics');
  return cmd;
}

export function settingsFrom(opts: Record<string, string | undefined>): Settings {
  return loadSettings({
    temporalAddress: opts.temporalAddress,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    mqttUrl: opts.mqttUrl,
    mqttUsername: opts.mqttUsername,
    mqttPassword: opts.mqttPassword,
    topicPrefix: opts.topicPrefix,
  });
}
