import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { CommandId } from '../protocol/ids';
import { DcoClient, type CommandHandle } from '../client/dco-client';
import { settingsFrom } from './connection-options';
import { UsageError } from './usage-error';
import { withTemporal } from './with-temporal';

/**
 * Runs `work` with a handle to an existing command, for the CLI commands that take a
 * `<commandId>` (`get`, `cancel`): a malformed ID or one that names no command is a usage error
 * (exit 2) that says so, and the connection is closed whatever happens.
 */
export async function withCommand(commandId: string, opts: Record<string, unknown>, work: (handle: CommandHandle) => Promise<void>): Promise<void> {
  const settings = settingsFrom(opts);
  const id = CommandId.safeParse(commandId);
  if (!id.success) throw new UsageError(z.prettifyError(id.error));
  await withTemporal(settings, async ({ connection }) => {
    const client = new DcoClient({ connection, namespace: settings.namespace, taskQueue: settings.taskQueue });
    await work(client.get(commandId)).catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new UsageError(`no command with id "${commandId}" in namespace ${settings.namespace}`);
      throw err;
    });
  });
}
