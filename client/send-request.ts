import { z } from 'zod';
import { CommandOptions, CommandOrderingSchema } from '../protocol/command-options';
import { DEFAULT_TTL_MS, MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, MAX_TTL_MS, MIN_TIMEOUT_MS } from '../protocol/command-limits';
import { ROLLOUT_ID_PATTERN } from '../protocol/id-patterns';
import { CommandId, CommandName, DeviceId } from '../protocol/ids';
import { jsonTextDepth } from '../protocol/json-depth';

export { MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, MAX_TTL_MS };

/** `30 days`, for messages. */
export const MAX_TTL_TEXT = `${MAX_TTL_MS / (24 * 3600_000)} days`;

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
  ttlMs: z.int().min(MIN_TIMEOUT_MS).max(MAX_TTL_MS, `ttlMs must be at most ${MAX_TTL_TEXT} (MAX_TTL_MS)`).optional(),
  /** Absolute deadline, at most MAX_TTL_MS from now (checked when the request is parsed). */
  expiresAt: z.iso
    .datetime({ offset: true, error: 'expiresAt must be an ISO-8601 date with an offset, e.g. 2026-02-04T10:00:00Z' })
    .refine((at) => Date.parse(at) <= Date.now() + MAX_TTL_MS, `expiresAt must be at most ${MAX_TTL_TEXT} from now (MAX_TTL_MS)`)
    .optional(),
  rolloutId: z.string().regex(ROLLOUT_ID_PATTERN, 'rolloutId must be 1-63 characters of A-Z a-z 0-9 _ -').optional(),
  /** Absent: parallel. Serial: one at a time per device, by priority then arrival (protocol/command-ordering.ts). */
  ordering: CommandOrderingSchema.optional(),
});
export type SendRequestInput = z.input<typeof SendRequest>;
export type SendRequest = z.infer<typeof SendRequest>;

/**
 * A readable, unique default commandId: `{deviceId}.{name}.{time}{random}`. Long IDs and names
 * are shortened so that the whole stays within the 128 characters allowed:
 * 56 + 1 + 55 + 1 + 15 (time in base 36: 9 characters until the year 5188, random: 6).
 */
export function generateCommandId(deviceId: string, name: string, now = Date.now(), random = Math.random): string {
  const suffix =
    now.toString(36) +
    Math.floor(random() * 36 ** 6)
      .toString(36)
      .padStart(6, '0');
  return `${deviceId.slice(0, 56)}.${name.slice(0, 55)}.${suffix}`;
}

export function resolveExpiresAt(req: Pick<SendRequest, 'expiresAt' | 'ttlMs'>, now = Date.now()): string {
  if (req.expiresAt) return new Date(req.expiresAt).toISOString();
  return new Date(now + (req.ttlMs ?? DEFAULT_TTL_MS)).toISOString();
}
