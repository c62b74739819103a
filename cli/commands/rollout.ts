import { type Connection, WorkflowNotFoundError } from '@temporalio/client';
import { Command, Option } from 'commander';
import { ApprovalRefusedError, isFinal, RolloutClient, type RolloutHandle } from '../../client/rollout-client';
import { connectClient, type TemporalTarget } from '../../config/temporal-connect';
import { settingsFrom, withConnectionOptions } from '../connection-options';
import { rolloutLine } from '../rollout-progress';
import { UsageError } from '../usage-error';
import { withTemporal } from '../with-temporal';
import { follow, waveLines } from './rollout-follow';
import { addReportCommands } from './rollout-report';
import { addStartCommand } from './rollout-start';

/** `connect` is there for tests that count connections: `rollout start` opens one for everything it asks Temporal. */
export function rolloutCommand(connect: (target: TemporalTarget) => Promise<Connection> = connectClient): Command {
  const rollout = new Command('rollout').description('run one command over a fleet, in waves');
  addStartCommand(rollout, connect);

  const control = (verb: string, description: string, act: (h: RolloutHandle, opts: Record<string, unknown>) => Promise<unknown>) =>
    withConnectionOptions(rollout.command(verb))
      .description(description)
      .argument('<rolloutId>')
      .option('--json', 'print the status as JSON')
      .option('--reason <text>', 'why (pause, cancel)')
      .addOption(new Option('--wave <index>', 'approve: the gate after this wave (0 = canary); default the current one').argParser((v) => Number(v)))
      .option('--wait', 'status: follow until the rollout ends')
      .action(async (rolloutId: string, opts) => {
        const settings = settingsFrom(opts);
        await withTemporal(
          settings,
          async ({ client: temporal }) => {
            const client = new RolloutClient(temporal, settings.taskQueue);
            let handle: RolloutHandle;
            try {
              handle = client.get(rolloutId);
            } catch (err) {
              throw new UsageError((err as Error).message);
            }
            await act(handle, opts).catch(async (err) => {
              if (err instanceof ApprovalRefusedError) throw new UsageError(err.message);
              // A signal or update to a rollout that has ended: say so, with how it ended.
              if (err instanceof WorkflowNotFoundError && verb !== 'status') {
                const ended = await handle.status().catch(() => undefined);
                if (ended && isFinal(ended)) throw new UsageError(`rollout ${rolloutId} has already ended (${ended.state}): nothing to ${verb}`);
              }
              throw err;
            });
            if (verb === 'status' && opts.wait) {
              const final = await follow(handle, !!opts.json);
              if (final.state !== 'done') process.exitCode = 1;
              return;
            }
            const s = await handle.status();
            const late = await handle.lateAnswers();
            process.stdout.write(opts.json ? JSON.stringify({ ...s, lateAnswers: late }) + '\n' : rolloutLine(s) + '\n' + waveLines(s) + lateLine(late));
          },
          connect,
        );
      });
  control('status', 'show progress: counts per state, per wave and overall', async () => {});
  control('pause', 'stop starting device commands (in-flight ones finish)', (h, o) => h.pause(o.reason as string | undefined));
  control('resume', 'continue a paused rollout', (h) => h.resume());
  control('cancel', 'stop the rollout for good (in-flight commands finish and are counted)', (h, o) => h.cancel(o.reason as string | undefined));
  control('approve', 'open the approval gate after the current (or --wave) wave', (h, o) => h.approve(o.wave as number | undefined));
  addReportCommands(rollout);
  return rollout;
}

/** Late answers are not outcomes: they say what devices did after their command had ended. */
function lateLine(late: Record<string, number>): string {
  const parts = Object.entries(late).map(([outcome, n]) => `${outcome} ${n}`);
  return parts.length ? `  late answers (after the command ended; states above unchanged): ${parts.join(', ')}\n` : '';
}
