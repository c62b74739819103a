import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { commandWorkflowId } from '../protocol/command-contract';
import type { CommandState } from '../protocol/command-state';
import type { AdaptiveSample } from './adaptive-concurrency';
import { rolloutCommandId } from './rollout-command-ids';
import { rolloutCommandRequest, runRolloutCommand, type RolloutCommandTemplate } from './rollout-command-start';
import { wellFormedLaneEnds } from './rollout-lane-signals';
import { RolloutLanes } from './rollout-lanes';
import { recordFinished } from './rollout-plan';
import type { RolloutRunState } from './rollout-run-state';

/**
 * A rollout's device commands in one run: started by the rollout itself or, with
 * RolloutSpec.lanes, handed to lanes that report their ends in batches; either way each end is
 * counted in the run's progress.
 */
export class RolloutCommands {
  private readonly command: RolloutCommandTemplate;
  /** RolloutSpec.lanes: lanes start the commands and report their ends in batches. */
  private readonly lanes: RolloutLanes | undefined;

  constructor(private readonly run: Pick<RolloutRunState, 'spec' | 'generation' | 'targets' | 'progress' | 'changed'>) {
    const { spec } = run;
    this.command = {
      rolloutId: spec.rolloutId,
      name: spec.name,
      params: spec.params,
      options: spec.options,
      ...(spec.ordering ? { ordering: spec.ordering } : {}),
    };
    this.lanes =
      spec.lanes && spec.lanes > 1
        ? new RolloutLanes({
            count: spec.lanes,
            generation: run.generation,
            command: this.command,
            orphaned: (commands) => commands.forEach((c) => void this.runItself(c.target, c.expiresAt, c.startedAtMs)),
          })
        : undefined;
  }

  /** Whether the lanes took all this run gives them (never without lanes): the rollout then drains and continues as new. */
  get lanesFull(): boolean {
    return this.lanes?.full ?? false;
  }

  /** Starts the commands for these targets (the planner just recorded them started): through the lanes, or itself. */
  start(started: number[]): void {
    const { spec, targets } = this.run;
    if (this.lanes) {
      const expiresAt = new Date(Date.now() + spec.ttlMs).toISOString();
      this.lanes.dispatch(started.map((target) => ({ target, deviceId: targets[target], expiresAt, startedAtMs: Date.now() })));
    } else for (const t of started) void this.runItself(t);
  }

  /** A lane's report of ended commands (laneCommandsEndedSignal): only well-formed reports about commands a lane runs count (rollout-lane-signals.ts says why). */
  lanesReported(ends: unknown): void {
    for (const e of wellFormedLaneEnds(ends)) if (this.lanes?.holds(e.target)) this.finished(e.target, e.state, e.sample);
  }

  /** RolloutSpec.endBehaviour 'cancel-in-flight': each device command in flight is cancelled (its device is asked to stop it). */
  cancelInFlight(): void {
    const { spec, targets } = this.run;
    for (const t of this.run.progress.inFlight) {
      const commandId = rolloutCommandId(spec.rolloutId, targets[t]);
      getExternalWorkflowHandle(commandWorkflowId(commandId))
        .cancel()
        .catch((err: Error) => log.warn("could not cancel a command at the rollout's end time", { rolloutId: spec.rolloutId, commandId, error: err.message }));
    }
  }

  /** Starts the device command for target `t` itself (not through a lane) and counts its end. */
  private async runItself(t: number, expiresAt = new Date(Date.now() + this.run.spec.ttlMs).toISOString(), startedAtMs = Date.now()): Promise<void> {
    const end = await runRolloutCommand(rolloutCommandRequest(this.command, this.run.targets[t], expiresAt), startedAtMs);
    this.finished(t, end.state, end.sample);
  }

  private finished(target: number, state: CommandState, sample?: AdaptiveSample): void {
    this.lanes?.ended(target);
    this.run.changed(recordFinished(this.run.progress, target, state, Date.now(), this.run.spec, sample));
  }
}
