import { WorkflowNotFoundError } from '@temporalio/client';
import { Command } from 'commander';
import { z } from 'zod';
import { CommandId } from '../../protocol/ids';
import { DcoClient, InvalidRequestError } from '../../client/dco-client';
import { connectClient } from '../../config/temporal-connect';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { commandJson, commandText } from '../format-command';
import { UsageError } from '../usage-error';

export function getCommand(): Command {
  return withConnectionOptions(new Command('get'))
    .description('show a command: state, attempts, output or error, and its history')
    .argument('<commandId>')
    .option('--json', 'print one JSON object')
    .action(async (commandId: string, opts) => {
      const settings = settingsFrom(opts);
      const id = CommandId.safeParse(commandId);
      if (!id.success) throw new UsageError(z.prettifyError(id.error));
      const connection = await connectClient(settings);
      try {
        const client = new DcoClient({ connection, namespace: settings.namespace, taskQueue: settings.taskQueue });
        const handle = client.get(commandId);
        const snapshot = await handle.state();
        const late = await handle.lateAnswers();
        process.stdout.write(opts.json ? JSON.stringify(commandJson(snapshot, late)) + '\n' : commandText(snapshot, late) + '\n');
      } catch (err) {
        if (err instanceof InvalidRequestError) throw new UsageError(err.message);
        if (err instanceof WorkflowNotFoundError) throw new UsageError(`no command with id "${commandId}" in namespace ${settings.namespace}`);
        throw err;
      } finally {
        await connection.close();
      }
    });
}
