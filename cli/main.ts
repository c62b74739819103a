import { Command, CommanderError } from 'commander';
import { bridgeCommand } from './commands/bridge';
import { cancelCommand } from './commands/cancel';
import { buildWorkflowsCommand } from './commands/build-workflows';
import { deadlettersCommand } from './commands/deadletters';
import { demoCommand } from './commands/demo';
import { deviceCommand } from './commands/device';
import { devicesCommand } from './commands/devices';
import { getCommand } from './commands/get';
import { templateCommand } from './commands/template';
import { groupCommand } from './commands/group';
import { rolloutCommand } from './commands/rollout';
import { sendCommand } from './commands/send';
import { UsageError } from './usage-error';
import { simCommand } from './commands/sim';
import { upCommand } from './commands/up';
import { workerCommand } from './commands/worker';
import { version } from '../package.json';
import { completionScript } from './completion';

const program = new Command('dco')
  .description('Device Command Orchestrator: durable device commands over MQTT, on Temporal')
  .version(version, '-V, --version', 'print the version of dco')
  .showHelpAfterError('(run with --help for usage)')
  // Lets a command's options after its subcommand go to the subcommand (`dco devices show x --json`);
  // commander honours a command's positional options only when its parent enables them too.
  .enablePositionalOptions()
  .exitOverride();

for (const cmd of [
  upCommand(),
  workerCommand(),
  bridgeCommand(),
  simCommand(),
  sendCommand(),
  getCommand(),
  cancelCommand(),
  devicesCommand(),
  deviceCommand(),
  rolloutCommand(),
  templateCommand(),
  groupCommand(),
  deadlettersCommand(),
  demoCommand(),
  buildWorkflowsCommand(),
]) {
  program.addCommand(withExitOverride(cmd));
}

program.addCommand(
  withExitOverride(
    new Command('completion')
      .description('print a shell completion script: eval "$(dco completion bash)" (or zsh)')
      .argument('<shell>', 'bash or zsh')
      .action((shell: string) => {
        if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`unknown shell "${shell}": bash or zsh`);
        process.stdout.write(completionScript(program, shell));
      }),
  ),
);

/** Usage errors anywhere in the tree end up in our handler below (exit code 2). */
function withExitOverride(cmd: Command): Command {
  cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  cmd.commands.forEach(withExitOverride);
  return cmd;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander already printed the message (or the help); keep its exit code, 2 for bad usage.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  process.exit(1);
});
