import { COMMAND_ID_PATTERN } from '../protocol/id-patterns';
import { parseDeviceTopic } from '../protocol/topics';

/**
 * A command as the bridge sees it on a device's commands topic (the worker published it): the
 * device it is for, from the topic, and its ID, from the payload. Undefined for anything else.
 * Only the ID is read: the rest is the device's business, and the bridge learns from it only
 * whose command it is.
 */
export function publishedCommand(prefix: string, topic: string, payload: Uint8Array): { deviceId: string; commandId: string } | undefined {
  const parsed = parseDeviceTopic(prefix, topic);
  if (parsed?.kind !== 'commands') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  const commandId = (body as { commandId?: unknown } | null)?.commandId;
  return typeof commandId === 'string' && COMMAND_ID_PATTERN.test(commandId) ? { deviceId: parsed.deviceId, commandId } : undefined;
}
