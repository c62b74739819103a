import { condition, getExternalWorkflowHandle, isCancellation, log, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { rolloutCommandRequest, runRolloutCommand, type RolloutCommandTemplate } from './rollout-command-start';
import { laneCommandsEndedSignal, startLaneCommandsSignal, wellFormedLaneCommands, type LaneCommand, type LaneCommandEnd } from './rollout-lane-signals';

export interface RolloutLaneInput {
  /** The command every device gets (its rolloutId is the rollout's). */
  command: RolloutCommandTemplate;
  lane: number;
}

export interface RolloutLaneSummary {
  started: number;
  reported: number;
}

/**
 * One lane of a rollout (RolloutSpec.lanes): starts the device commands the rollout hands it,
 * as its own children, and reports their ends back in batches.
 *
 * Why: starting a child and recording its end are writes to the workflow that started it, and
 * Temporal serializes the writes of one workflow (the history service retries a start that
 * finds it busy). A rollout that starts thousands of commands itself is one such workflow; with
 * lanes each lane takes its share of those writes, and the rollout gets one signal per batch.
 *
 * A report goes to the run of the rollout that started the lane. That run ends only when none
 * of its commands is in flight (it continues as new with fresh lanes, or finishes); it then
 * cancels its lanes (ParentClosePolicy.REQUEST_CANCEL), and a lane ends with what it did.
 */
export async function rolloutLaneWorkflow(input: RolloutLaneInput): Promise<RolloutLaneSummary> {
  const parent = workflowInfo().parent;
  if (!parent) throw new Error('a rollout lane is started by its rollout, as a child workflow');
  const rollout = getExternalWorkflowHandle(parent.workflowId, parent.runId);
  const seen = new Set<number>();
  let ended: LaneCommandEnd[] = [];
  let reported = 0;
  const describe = () => setCurrentDetails(`Lane ${input.lane} of rollout **${input.command.rolloutId}**: ${seen.size} commands started, ${reported} ended.`);

  const run = async (c: LaneCommand) => {
    const end = await runRolloutCommand(rolloutCommandRequest(input.command, c.deviceId, c.expiresAt), c.startedAtMs);
    ended.push({ target: c.target, ...end });
  };
  setHandler(startLaneCommandsSignal, (commands) => {
    for (const c of wellFormedLaneCommands(commands)) {
      // A target handed over twice (a signal delivered again) starts once.
      if (seen.has(c.target)) continue;
      seen.add(c.target);
      void run(c);
    }
    describe();
  });

  describe();
  try {
    for (;;) {
      await condition(() => ended.length > 0);
      // Everything that ended while the previous report was on its way goes in this one.
      const batch = ended;
      ended = [];
      await rollout.signal(laneCommandsEndedSignal, batch);
      reported += batch.length;
      describe();
    }
  } catch (err) {
    // Cancelled: the rollout's run ended. Otherwise that run is gone (terminated): nobody is left to count these ends.
    if (!isCancellation(err))
      log.warn('a rollout lane could not report to its rollout', { rolloutId: input.command.rolloutId, lane: input.lane, error: (err as Error).message });
    return { started: seen.size, reported };
  }
}
