import { MAX_JSON_DEPTH } from '../protocol/json-depth';
import { deadLetterOf, type DeadLetterInput } from './dead-letter-record';
import { DEFAULT_MAX_PAYLOAD_BYTES, parseDeviceMessage, type ParsedDeviceMessage } from './parse-device-message';

export interface ClassifyOptions {
  maxPayloadBytes?: number;
  maxDepth?: number;
  /** When the bridge received the message; also the dead letter's `receivedAt`. */
  receivedAt?: string;
  keepPayloadBytes?: number;
}

/** What the bridge does with one MQTT message, decided from the message alone. */
export type Classification = { outcome: 'accepted'; parsed: ParsedDeviceMessage } | { outcome: 'dead-letter'; letter: DeadLetterInput };

/**
 * The bridge's first decision for every message: accepted (an ack or result to forward, or a
 * status), or a dead letter with its reason. Pure and total: never throws, for any topic and
 * any bytes. What it cannot decide alone (is the command known and open, is it this device's
 * command) the bridge learns from Temporal afterwards.
 */
export function classifyDeviceMessage(prefix: string, topic: string, payload: Uint8Array, o: ClassifyOptions = {}): Classification {
  const parsed = parseDeviceMessage(prefix, topic, payload, o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, o.maxDepth ?? MAX_JSON_DEPTH);
  if (parsed.ok) return { outcome: 'accepted', parsed };
  return {
    outcome: 'dead-letter',
    letter: deadLetterOf(topic, payload, parsed.reason, parsed.detail, { prefix, receivedAt: o.receivedAt, keepPayloadBytes: o.keepPayloadBytes }),
  };
}
