import { WorkflowNotFoundError } from '@temporalio/client';
import { Command } from 'commander';
import { z } from 'zod';
import { CommandId } from '../../protocol/ids';
import { isTerminal } from '../../protocol/command-state';
import { DcoClient, InvalidRequestError } from '../../client/dco-client';
import { connectClient } from '../../config/temporal-connect';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { commandJson, commandText } from '../format-command';
import { UsageError } from '../usage-error';

/**
 * `dco cancel <commandId>`: asks the command to stop. A command the device may have received
 * asks the device in turn, and ends with what the device says (docs/protocol.md, "cancel"), so
 * `--wait` may take up to an ack timeout (or, once acknowledged, the result timeout).
 */
export function cancelCommand(): Command {
  return withConnectionOptions(new Command('cancel'))
    .description('cancel a command: the device is asked to stop it; Cancelled only if it did not and will not run')
    .argument('<commandId>')
    .option('--wait', 'wait for the final state; exit 1 unless it ends Cancelled')
    .option('--json', 'print one JSON object (with --wait: the final state)')
    .action(async (commandId: string, opts) => {
      const settings = settingsFrom(opts);
      const id = CommandId.safeParse(commandId);
      if (!id.success) throw new UsageError(z.prettifyError(id.error));
      const connection = await connectClient(settings);
      try {
        const client = new DcoClient({ connection, namespace: settings.namespace, taskQueue: settings.taskQueue });
        const handle = client.get(commandId);
        const before = await handle.state();
        if (isTerminal(before.state)) {
          // Nothing to cancel: say what it ended as, and fail like a cancel that did not take.
          process.stdout.write(opts.json ? JSON.stringify(commandJson(before)) + '\n' : `${commandId} already ended ${before.state}: nothing to cancel\n`);
          process.exitCode = 1;
          return;
        }
        await handle.cancel();
        if (!opts.wait) {
          process.stdout.write(opts.json ? JSON.stringify({ commandId, cancelRequested: true }) + '\n' : `cancel requested for ${commandId} (${before.state}); \`dco get ${commandId}\` shows what the device answers\n`);
          return;
        }
        const outcome = await handle.result();
        process.stdout.write(opts.json ? JSON.stringify(commandJson(outcome)) + '\n' : commandText(outcome) + '\n');
        if (outcome.state !== 'Cancelled') process.exitCode = 1;
      } catch (err) {
        if (err instanceof InvalidRequestError) throw new UsageError(err.message);
        if (err instanceof WorkflowNotFoundError) throw new UsageError(`no command with id "${commandId}" in namespace ${settings.namespace}`);
        throw err;
      } finally {
        await connection.close();
      }
    });
}
