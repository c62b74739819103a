/**
 * What must hold before a PUBLISH goes onto the worker's one shared MQTT connection, and how a
 * refusal is told apart from an outage.
 *
 * Why a guard at all (MQTT.js 5.16 / mqtt-packet, read in node_modules): a packet that cannot
 * be encoded (a Message Expiry Interval above 2^32-1, an invalid topic) is not an error of
 * that publish: `writeToStream` calls `stream.destroy(err)`, which closes the whole connection,
 * and the QoS 1 packet stays in the outgoing store, so it is sent again (and destroys the
 * connection again) at every reconnect. Every other command of the worker then waits. And a
 * payload above the broker's `message_size_limit` (64 KiB) gets PUBACK 0x95, which mqtt-packet
 * does not accept as a PUBACK reason code: the connection stops processing packets until the
 * keep-alive timeout. So nothing that would do either is ever handed to MQTT.js.
 */

/** The MQTT v5 Message Expiry Interval is a four-byte unsigned integer (seconds). */
export const MAX_MESSAGE_EXPIRY_SECONDS = 0xffff_ffff;

/**
 * The largest PUBLISH we send, whole packet (fixed header, topic, packet id, properties and
 * payload): 64 KiB. The protocol caps payloads at 64 KiB (Mosquitto's `message_size_limit
 * 65536` counts the payload only), and a broker that limits whole packets (`max_packet_size`)
 * to 64 KiB accepts it too. Commands are far smaller: params are at most 32 KiB.
 */
export const MAX_PUBLISH_PACKET_BYTES = 64 * 1024;

/** Not published, and publishing it again would not help: the command must end with `reason`. */
export class PublishRefusedError extends Error {
  constructor(
    /** For people: "refused by the broker: Not authorized (PUBACK reason code 0x87)". */
    readonly reason: string,
    /** The MQTT reason code when the broker refused it; absent when we refused it ourselves. */
    readonly reasonCode?: number,
  ) {
    super(reason);
    this.name = 'PublishRefusedError';
  }
}

const hex = (code: number) => `0x${code.toString(16).padStart(2, '0')}`;

/** Topic names for PUBLISH: non-empty, no wildcards, no NUL, at most 65,535 bytes of UTF-8. */
export function topicProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'the topic is empty';
  if (/[+#\u0000]/.test(topic)) return `the topic ${JSON.stringify(topic.slice(0, 200))} contains a wildcard (+ #) or NUL`;
  if (Buffer.byteLength(topic) > 0xffff) return 'the topic is longer than 65,535 bytes';
  return undefined;
}

/** Bytes of the properties we send: message expiry (1 + 4) and content type (1 + 2 + n). */
function propertiesBytes(contentType: string): number {
  return 1 + 4 + 1 + 2 + Buffer.byteLength(contentType);
}

/** Bytes of a QoS 1 PUBLISH packet with these parts. */
export function publishPacketBytes(topic: string, payload: string, contentType: string): number {
  const props = propertiesBytes(contentType);
  const remaining = 2 + Buffer.byteLength(topic) + 2 + varIntBytes(props) + props + Buffer.byteLength(payload);
  return 1 + varIntBytes(remaining) + remaining;
}

function varIntBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/**
 * Why this publish must not be attempted, or undefined when it may. Only checks what MQTT.js
 * or the broker would otherwise turn into a lost connection.
 */
export function publishProblem(topic: string, payload: string, messageExpirySeconds: number, contentType: string): string | undefined {
  const t = topicProblem(topic);
  if (t) return `refused before publishing: ${t}`;
  if (!Number.isInteger(messageExpirySeconds) || messageExpirySeconds < 1 || messageExpirySeconds > MAX_MESSAGE_EXPIRY_SECONDS) {
    return `refused before publishing: message expiry ${messageExpirySeconds} s is not a whole number from 1 to ${MAX_MESSAGE_EXPIRY_SECONDS}`;
  }
  const bytes = publishPacketBytes(topic, payload, contentType);
  if (bytes > MAX_PUBLISH_PACKET_BYTES) return `refused before publishing: the command is too large (${bytes} bytes; at most ${MAX_PUBLISH_PACKET_BYTES})`;
  return undefined;
}

/**
 * PUBACK reason codes that say "this message, never": 0x80 and above, except 0x91 (packet
 * identifier in use: about the packet id, not the message; a new attempt gets a new id).
 * MQTT.js rejects the publish with `ErrorWithReasonCode` (`code` = the reason code) for
 * those mqtt-packet accepts: 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99.
 */
export function brokerRefusal(err: unknown): PublishRefusedError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'number' || code < 0x80 || code === 0x91) return undefined;
  const text = err instanceof Error ? err.message.replace(/^Publish error: /, '') : 'refused';
  return new PublishRefusedError(`refused by the broker: ${text || 'refused'} (PUBACK reason code ${hex(code)})`, code);
}
