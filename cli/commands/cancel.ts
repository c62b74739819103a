import { Command } from 'commander';
import { isTerminal } from '../../protocol/command-state';
import { withConnectionOptions } from '../connection-options';
import { commandJson, commandText } from '../format-command';
import { withCommand } from '../with-command';

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
    .action((commandId: string, opts) =>
      withCommand(commandId, opts, async (handle) => {
        const before = await handle.state();
        if (isTerminal(before.state)) {
          // Nothing to cancel: say what it ended as, and fail like a cancel that did not take.
          process.stdout.write(opts.json ? JSON.stringify(commandJson(before)) + '\n' : `${commandId} already ended ${before.state}: nothing to cancel\n`);
          process.exitCode = 1;
          return;
        }
        await handle.cancel();
        if (!opts.wait) {
          process.stdout.write(
            opts.json
              ? JSON.stringify({ commandId, cancelRequested: true }) + '\n'
              : `cancel requested for ${commandId} (${before.state}); \`dco get ${commandId}\` shows what the device answers\n`,
          );
          return;
        }
        const outcome = await handle.result();
        process.stdout.write(opts.json ? JSON.stringify(commandJson(outcome)) + '\n' : commandText(outcome) + '\n');
        if (outcome.state !== 'Cancelled') process.exitCode = 1;
      }),
    );
}
