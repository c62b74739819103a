import { DEVICE_ID_PATTERN } from './ids';

/**
 * The questions a device topic answers, one topic each: commands (intent), ack (received),
 * result (executed), status (state), pending (a waking device asks for its open commands),
 * cancel (the service asks a device to stop a command it may have received).
 */
export const TOPIC_KINDS = ['commands', 'ack', 'result', 'status', 'pending', 'cancel'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

/** The topics the service publishes on and devices only read; every other one is the device's to write. */
export const SERVICE_TO_DEVICE_KINDS = ['commands', 'cancel'] as const satisfies readonly TopicKind[];
export type DeviceToServiceKind = Exclude<TopicKind, (typeof SERVICE_TO_DEVICE_KINDS)[number]>;

export function isDeviceToService(kind: TopicKind): kind is DeviceToServiceKind {
  return !(SERVICE_TO_DEVICE_KINDS as readonly string[]).includes(kind);
}

export const DEFAULT_TOPIC_PREFIX = 'devices';

export function deviceTopic(prefix: string, deviceId: string, kind: TopicKind): string {
  return `${prefix}/${deviceId}/${kind}`;
}

/** Subscription filter for one kind of topic across all devices, e.g. `devices/+/ack`. */
export function allDevicesTopic(prefix: string, kind: TopicKind): string {
  return `${prefix}/+/${kind}`;
}

export type ParsedTopic = { deviceId: string; kind: TopicKind };

/**
 * Parses `{prefix}/{deviceId}/{kind}`; returns undefined for anything else, including a
 * deviceId that is not valid (so a message on such a topic is never attributed to a device).
 */
export function parseDeviceTopic(prefix: string, topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(prefix + '/')) return undefined;
  const rest = topic.slice(prefix.length + 1).split('/');
  if (rest.length !== 2) return undefined;
  const [deviceId, kind] = rest;
  if (!DEVICE_ID_PATTERN.test(deviceId)) return undefined;
  if (!(TOPIC_KINDS as readonly string[]).includes(kind)) return undefined;
  return { deviceId, kind: kind as TopicKind };
}

/** Topic prefixes are one or more plain topic levels: no wildcards, no empty levels. */
export function isValidTopicPrefix(prefix: string): boolean {
  return /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(prefix);
}
