import { z } from 'zod';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../protocol/json-depth';
import { AckMessage, PendingRequestMessage, PROTOCOL_VERSION, ResultMessage, StatusMessage } from '../protocol/messages';
import { isDeviceToService, parseDeviceTopic } from '../protocol/topics';

export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;

export type RejectReason =
  | 'bad-topic' // not {prefix}/{deviceId}/{ack|result|status|pending}: commands and cancel are ours to write
  | 'too-large'
  | 'not-json'
  | 'too-deep' // valid JSON nested deeper than MAX_JSON_DEPTH (objects and arrays)
  | 'unsupported-version'
  | 'invalid-payload';

/** Every reason, in the order the checks run. */
export const REJECT_REASONS: readonly RejectReason[] = ['bad-topic', 'too-large', 'not-json', 'too-deep', 'unsupported-version', 'invalid-payload'];

export type ParsedDeviceMessage =
  | { ok: true; deviceId: string; kind: 'ack'; message: AckMessage }
  | { ok: true; deviceId: string; kind: 'result'; message: ResultMessage }
  | { ok: true; deviceId: string; kind: 'status'; message: StatusMessage }
  | { ok: true; deviceId: string; kind: 'pending'; message: PendingRequestMessage };

export type ParseOutcome = ParsedDeviceMessage | { ok: false; reason: RejectReason; detail: string };

const schemas = { ack: AckMessage, result: ResultMessage, status: StatusMessage, pending: PendingRequestMessage } as const;

/**
 * Validates one MQTT message from a device topic. Errors are values, never exceptions: the
 * bridge must survive any input a device or an attacker can publish.
 */
export function parseDeviceMessage(
  prefix: string,
  topic: string,
  payload: Uint8Array,
  maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES,
  maxDepth = MAX_JSON_DEPTH,
): ParseOutcome {
  const parsedTopic = parseDeviceTopic(prefix, topic);
  if (!parsedTopic || !isDeviceToService(parsedTopic.kind)) {
    return { ok: false, reason: 'bad-topic', detail: `not a device-to-service topic: ${topic.slice(0, 200)}` };
  }
  if (payload.byteLength > maxPayloadBytes) {
    return { ok: false, reason: 'too-large', detail: `${payload.byteLength} bytes > ${maxPayloadBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'not-json', detail: (err as Error).message.slice(0, 200) };
  }
  // Valid JSON from here on, so the one-pass count is exact; nothing recursive has run yet.
  const depth = jsonTextDepth(payload, maxDepth);
  if (depth > maxDepth) {
    return { ok: false, reason: 'too-deep', detail: `JSON nested more than ${maxDepth} levels deep` };
  }
  if (typeof json === 'object' && json !== null && 'v' in json && (json as { v: unknown }).v !== PROTOCOL_VERSION) {
    return { ok: false, reason: 'unsupported-version', detail: `v=${JSON.stringify((json as { v: unknown }).v)}` };
  }
  const kind = parsedTopic.kind;
  const result = schemas[kind].safeParse(json);
  if (!result.success) {
    return { ok: false, reason: 'invalid-payload', detail: z.prettifyError(result.error).slice(0, 500) };
  }
  return { ok: true, deviceId: parsedTopic.deviceId, kind, message: result.data } as ParsedDeviceMessage;
}
