import path from 'node:path';
import { parseDeviceTopic } from '../protocol/topics';
import { REJECT_REASONS, type RejectReason } from './parse-device-message';

/**
 * Why the bridge did not (usefully) deliver a device message. The first six are decided by
 * parseDeviceMessage from the message alone. Then, for acks and results:
 * - `rate-limited`: the device sent more than its budget (bridge/device-rate-limiter.ts);
 * - `unknown-command`: no command has that ID (never existed);
 * - `spoofed`: the command belongs to another device than the topic's; not signalled;
 * - `closed-command`: no longer produced (a late answer is attached to its command as
 *   `late-<commandId>`, protocol/late-answers-contract.ts); kept so older files still read;
 * - `signal-refused`: Temporal refused the signal for good (e.g. the execution's signal limit);
 * - `signal-failed`: Temporal stayed unavailable for longer than the bridge's retry budget.
 */
export type DeadLetterReason = RejectReason | BridgeDeadLetterReason;
export const BRIDGE_DEAD_LETTER_REASONS = ['rate-limited', 'unknown-command', 'spoofed', 'closed-command', 'signal-refused', 'signal-failed'] as const;
export type BridgeDeadLetterReason = (typeof BRIDGE_DEAD_LETTER_REASONS)[number];
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [...REJECT_REASONS, ...BRIDGE_DEAD_LETTER_REASONS];

/** Where `dco bridge` keeps its dead letters unless told otherwise (flag or DCO_DEADLETTER_DIR). */
export const DEFAULT_DEADLETTER_DIR = path.join('.data', 'deadletters');

/** One rejected message, as kept for inspection. */
export interface DeadLetter {
  /** 1, 2, 3 ... per directory, never reused: tells which entries the summary already counts. */
  seq: number;
  receivedAt: string;
  reason: DeadLetterReason;
  detail: string;
  /** The topic, at most TOPIC_KEPT characters. */
  topic: string;
  /** The device the topic names, when it names a valid one. */
  deviceId?: string;
  commandId?: string;
  /** Size of the whole payload. */
  payloadBytes: number;
  /** Its first `keepPayloadBytes` bytes: as text when they are valid UTF-8, else base64. */
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  payloadTruncated: boolean;
}
export type DeadLetterInput = Omit<DeadLetter, 'seq'>;

const TOPIC_KEPT = 256;
const DETAIL_KEPT = 500;
export const DEFAULT_KEEP_PAYLOAD_BYTES = 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keep a BOM: it is then stored as base64

/**
 * Builds the record of a rejected message. Never throws, for any topic and bytes: the payload
 * is cut to `keepPayloadBytes` (at a character boundary when it is text) and kept as UTF-8
 * text if it is printable text, else as base64.
 */
export function deadLetterOf(
  topic: string,
  payload: Uint8Array,
  reason: DeadLetterReason,
  detail: string,
  o: { prefix?: string; receivedAt?: string; commandId?: string; keepPayloadBytes?: number } = {},
): DeadLetterInput {
  const keep = o.keepPayloadBytes ?? DEFAULT_KEEP_PAYLOAD_BYTES;
  const head = payload.subarray(0, keep);
  const truncated = payload.byteLength > head.byteLength;
  const text = printableText(head, truncated);
  const deviceId = o.prefix !== undefined ? parseDeviceTopic(o.prefix, topic)?.deviceId : undefined;
  return {
    receivedAt: o.receivedAt ?? new Date().toISOString(),
    reason,
    detail: detail.slice(0, DETAIL_KEPT),
    topic: topic.slice(0, TOPIC_KEPT),
    ...(deviceId ? { deviceId } : {}),
    ...(o.commandId ? { commandId: o.commandId } : {}),
    payloadBytes: payload.byteLength,
    ...(text !== undefined
      ? { payload: text, payloadEncoding: 'utf8' as const }
      : { payload: Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('base64'), payloadEncoding: 'base64' as const }),
    payloadTruncated: truncated,
  };
}

/** The bytes as text if they are valid UTF-8 without control characters (tabs and newlines allowed). */
function printableText(bytes: Uint8Array, cut: boolean): string | undefined {
  // A cut may split the last character: drop up to 3 bytes of an incomplete sequence.
  for (let drop = 0; drop <= (cut ? 3 : 0) && drop <= bytes.byteLength; drop++) {
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(0, bytes.byteLength - drop));
    } catch {
      continue;
    }
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff]/.test(text) ? undefined : text;
  }
  return undefined;
}

export type DeadLetterTotals = Record<DeadLetterReason, number>;

export function emptyTotals(): DeadLetterTotals {
  return Object.fromEntries(DEAD_LETTER_REASONS.map((r) => [r, 0])) as DeadLetterTotals;
}
