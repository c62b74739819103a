import { Command } from 'commander';
import { withConnectionOptions } from '../connection-options';
import { commandJson, commandText } from '../format-command';
import { withCommand } from '../with-command';

export function getCommand(): Command {
  return withConnectionOptions(new Command('get'))
    .description('show a command: state, attempts, output or error, and its history')
    .argument('<commandId>')
    .option('--json', 'print one JSON object')
    .action((commandId: string, opts) =>
      withCommand(commandId, opts, async (handle) => {
        const snapshot = await handle.state();
        const late = await handle.lateAnswers();
        process.stdout.write(opts.json ? JSON.stringify(commandJson(snapshot, late)) + '\n' : commandText(snapshot, late) + '\n');
      }),
    );
}
