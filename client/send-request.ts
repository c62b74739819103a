import { z } from 'zod';
import { CommandOptions, DEFAULT_TTL_MS } from '../protocol/command-options';
import { CommandId, CommandName, DeviceId } from '../protocol/ids';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../protocol/json-depth';

/** Params travel in one MQTT message; keep well under the broker's message size limit. */
export const MAX_PARAMS_BYTES = 32 * 1024;
/**
 * Params are one level inside the command message, whose nesting the wire protocol caps at
 * MAX_JSON_DEPTH (a device may refuse deeper JSON, as the bridge does).
 */
export const MAX_PARAMS_DEPTH = MAX_JSON_DEPTH - 1;

/** Nesting depth of the JSON text; 0 when JSON cannot carry the value (the size check reports that). */
function jsonDepth(value: unknown): number {
  try {
    return jsonTextDepth(JSON.stringify(value) ?? '', MAX_PARAMS_DEPTH);
  } catch {
    return 0;
  }
}

/** Size of the JSON text, or Infinity for values JSON cannot carry (BigInt, cycles). */
function jsonSize(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return Infinity;
  }
}

export const SendRequest = CommandOptions.extend({
  deviceId: DeviceId,
  name: CommandName,
  params: z
    .record(z.string(), z.unknown())
    .default({})
    .refine((p) => jsonSize(p) <= MAX_PARAMS_BYTES, `params must be plain JSON of at most ${MAX_PARAMS_BYTES} bytes`)
    .refine((p) => jsonDepth(p) <= MAX_PARAMS_DEPTH, `params must not nest objects and arrays more than ${MAX_PARAMS_DEPTH} levels deep`),
  /** Give one to make the send idempotent: the same commandId never starts a second command. */
  commandId: CommandId.optional(),
  /** Time to live from now; ignored when expiresAt is given. */
  ttlMs: z.int().min(1_000).max(30 * 24 * 3600_000).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  rolloutId: z.string().optional(),
});
export type SendRequestInput = z.input<typeof SendRequest>;
export type SendRequest = z.infer<typeof SendRequest>;

/**
 * A readable, unique default commandId: `{deviceId}.{name}.{time}{random}`. Long IDs and names
 * are shortened so that the whole stays within the 128 characters allowed:
 * 56 + 1 + 55 + 1 + 15 (time in base 36: 9 characters until the year 5188, random: 6).
 */
export function generateCommandId(deviceId: string, name: string, now = Date.now(), random = Math.random): string {
  const suffix = now.toString(36) + Math.floor(random() * 36 ** 6).toString(36).padStart(6, '0');
  return `${deviceId.slice(0, 56)}.${name.slice(0, 55)}.${suffix}`;
}

export function resolveExpiresAt(req: Pick<SendRequest, 'expiresAt' | 'ttlMs'>, now = Date.now()): string {
  if (req.expiresAt) return new Date(req.expiresAt).toISOString();
  return new Date(now + (req.ttlMs ?? DEFAULT_TTL_MS)).toISOString();
}
