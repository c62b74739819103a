import { z } from 'zod';
import { CommandId, CommandName } from './ids';
import { ATTRIBUTE_VALUE_PATTERN, MAX_TAGS, TAG_PATTERN, TIME_ZONE_PATTERN } from './id-patterns';

/**
 * Wire protocol v1: the JSON payloads on the four device topics.
 *
 * Objects are not strict: unknown fields are ignored so that a newer sender can add fields
 * without breaking an older receiver (forward compatibility). `v` is the major version; a
 * receiver rejects a major version it does not know.
 */
export const PROTOCOL_VERSION = 1 as const;

const Version = z.literal(PROTOCOL_VERSION);
const IsoTimestamp = z.iso.datetime({ offset: true });

/** Free-form JSON object: command parameters and command output. */
const JsonObject = z.record(z.string(), z.unknown());

/** `devices/{deviceId}/commands`, service → device. Intent; never retained. */
export const CommandMessage = z.object({
  v: Version,
  commandId: CommandId,
  name: CommandName,
  params: JsonObject.default({}),
  /** 1 for the first publish; the same commandId is re-published with attempt + 1. */
  attempt: z.int().min(1),
  issuedAt: IsoTimestamp,
  /** A device must not execute the command after this instant (it rejects with reason `expired`). */
  expiresAt: IsoTimestamp,
});

/** `devices/{deviceId}/ack`, device → service. The command was received (and will or will not run). */
export const AckMessage = z.object({
  v: Version,
  commandId: CommandId,
  status: z.enum(['accepted', 'rejected']),
  reason: z.string().max(1024).optional(),
});

export const CommandError = z.object({
  code: z.string().min(1).max(128),
  message: z.string().max(4096),
});

/**
 * `devices/{deviceId}/cancel`, service → device (additive in v1): "stop this command if you
 * still can". Sent only for a command the device may have received, when the caller cancels
 * it; never retained, and it expires with the service's interest in the answer. The device
 * answers on `result`: `cancelled` (not executed, and it never will be), or the command's real
 * outcome when it was too late (docs/protocol.md, "cancel").
 */
export const CancelMessage = z.object({
  v: Version,
  commandId: CommandId,
  issuedAt: IsoTimestamp,
});

/**
 * `devices/{deviceId}/result`, device → service. The command was executed (`succeeded`,
 * `failed`), or, answering a cancel, will never be (`cancelled`).
 */
export const ResultMessage = z.object({
  v: Version,
  commandId: CommandId,
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  output: JsonObject.optional(),
  error: CommandError.optional(),
});

/**
 * A reported attribute value: short, printable, no quotes, so it can be a search attribute
 * and be written inside a visibility query (`DeviceModel = "pump-x2"`) as it is.
 */
const AttributeValue = z.string().regex(ATTRIBUTE_VALUE_PATTERN, 'letters, digits, spaces and . _ : / + @ -, 1 to 64 characters');

/**
 * What a device says about itself (additive in v1: optional, and a device that never sends it
 * keeps working). Bounded, so that no device can grow its record or the visibility store.
 */
export const DeviceAttributes = z.object({
  model: AttributeValue.optional(),
  firmware: AttributeValue.optional(),
  site: AttributeValue.optional(),
  /** An IANA time zone name, e.g. `Europe/Berlin` (maintenance windows are local time). */
  timeZone: z.string().regex(TIME_ZONE_PATTERN, 'an IANA time zone name such as Europe/Berlin').optional(),
  tags: z.array(z.string().regex(TAG_PATTERN, 'letters, digits and . _ : -, 1 to 32 characters')).max(MAX_TAGS).optional(),
});

/** `devices/{deviceId}/status`, device → service. Retained; the Last Will says `offline`. */
export const StatusMessage = z.object({
  v: Version,
  state: z.enum(['online', 'offline']),
  /** Changes at every start of the device: a new bootId means the device rebooted. */
  bootId: z.string().min(1).max(128),
  ts: IsoTimestamp.optional(),
  /**
   * The device's full set of reported attributes; a status without it keeps the last ones
   * (the Last Will has none). Invalid attributes are ignored, never the status: presence must
   * not depend on a firmware's formatting.
   */
  attributes: DeviceAttributes.optional().catch(undefined),
});

/**
 * A device that wakes up (a sleepy, battery-powered one, or one behind a link that dropped
 * messages) asks for its pending commands on its `pending` topic, instead of waiting for a
 * re-publish timer: every open command that waits for this device's answer is published again
 * at once. Not retained; QoS 1. `bootId` is the device's current boot.
 */
export const PendingRequestMessage = z.object({
  v: Version,
  bootId: z.string().min(1).max(128),
  ts: IsoTimestamp.optional(),
});

export type CommandMessage = z.infer<typeof CommandMessage>;
export type CancelMessage = z.infer<typeof CancelMessage>;
export type PendingRequestMessage = z.infer<typeof PendingRequestMessage>;
export type AckMessage = z.infer<typeof AckMessage>;
export type ResultMessage = z.infer<typeof ResultMessage>;
export type StatusMessage = z.infer<typeof StatusMessage>;
export type DeviceAttributes = z.infer<typeof DeviceAttributes>;
export type CommandError = z.infer<typeof CommandError>;
