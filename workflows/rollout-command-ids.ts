/** The IDs of a rollout's device commands, and back. */
import { COMMAND_ID_PATTERN, DEVICE_ID_PATTERN, ROLLOUT_ID_PATTERN } from '../protocol/id-patterns';

/**
 * `{rolloutId}.{deviceId}`: readable in the Web UI, and injective because a rolloutId has no
 * `.` (the first `.` ends it) and at most 63 characters (63 + 1 + 64 = 128).
 */
export function rolloutCommandId(rolloutId: string, deviceId: string): string {
  if (!ROLLOUT_ID_PATTERN.test(rolloutId)) throw new RangeError(`invalid rolloutId "${rolloutId}"`);
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new RangeError(`invalid deviceId "${deviceId}"`);
  const id = `${rolloutId}.${deviceId}`;
  if (!COMMAND_ID_PATTERN.test(id)) throw new RangeError(`commandId "${id}" is not valid`); // unreachable by the bounds above
  return id;
}

/** The inverse of rolloutCommandId; undefined for a commandId it did not produce. */
export function parseRolloutCommandId(commandId: string): { rolloutId: string; deviceId: string } | undefined {
  const dot = commandId.indexOf('.');
  if (dot < 0) return undefined;
  const rolloutId = commandId.slice(0, dot);
  const deviceId = commandId.slice(dot + 1);
  return ROLLOUT_ID_PATTERN.test(rolloutId) && DEVICE_ID_PATTERN.test(deviceId) ? { rolloutId, deviceId } : undefined;
}
