import { z } from 'zod';

/** A request that fails the zod schemas: nothing was started; `issues` says what to fix. */
export class InvalidRequestError extends Error {
  constructor(readonly issues: z.core.$ZodIssue[]) {
    super(`invalid request: ${z.prettifyError(new z.ZodError(issues))}`);
    this.name = 'InvalidRequestError';
  }
}

/**
 * A `send` with a commandId that an existing command already uses for another device, name or
 * params: idempotency must not hide that the caller meant something else.
 */
export class CommandConflictError extends Error {
  constructor(
    readonly commandId: string,
    readonly existing: { deviceId?: string; name?: string },
  ) {
    super(
      `command ${commandId} already exists with another device, name or params` +
        `${existing.deviceId ? ` (device ${existing.deviceId}, command ${existing.name})` : ''}; ` +
        'use a new commandId, or send exactly the same request to get the existing command back',
    );
    this.name = 'CommandConflictError';
  }
}
