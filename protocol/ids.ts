import { z } from 'zod';

/**
 * Identifiers travel in MQTT topic levels and Temporal workflow IDs, so they are restricted to
 * characters that are safe in both: no `/`, `+`, `#` (topic syntax) and no whitespace.
 */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const COMMAND_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const COMMAND_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export const DeviceId = z
  .string()
  .regex(DEVICE_ID_PATTERN, 'deviceId must be 1-64 characters of A-Z a-z 0-9 . _ -');
export const CommandId = z
  .string()
  .regex(COMMAND_ID_PATTERN, 'commandId must be 1-128 characters of A-Z a-z 0-9 . _ -');
export const CommandName = z
  .string()
  .regex(COMMAND_NAME_PATTERN, 'command name must be 1-64 characters of A-Z a-z 0-9 . _ -');

export type DeviceId = z.infer<typeof DeviceId>;
export type CommandId = z.infer<typeof CommandId>;
export type CommandName = z.infer<typeof CommandName>;
