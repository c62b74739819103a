import { z } from 'zod';

import { COMMAND_ID_PATTERN, COMMAND_NAME_PATTERN, DEVICE_ID_PATTERN } from './id-patterns';

export { COMMAND_ID_PATTERN, COMMAND_NAME_PATTERN, DEVICE_ID_PATTERN };

export const DeviceId = z.string().regex(DEVICE_ID_PATTERN, 'deviceId must be 1-64 characters of A-Z a-z 0-9 . _ -');
export const CommandId = z.string().regex(COMMAND_ID_PATTERN, 'commandId must be 1-128 characters of A-Z a-z 0-9 . _ -');
export const CommandName = z.string().regex(COMMAND_NAME_PATTERN, 'command name must be 1-64 characters of A-Z a-z 0-9 . _ -');

export type DeviceId = z.infer<typeof DeviceId>;
export type CommandId = z.infer<typeof CommandId>;
export type CommandName = z.infer<typeof CommandName>;
