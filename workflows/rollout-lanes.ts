import { CancellationScope, ParentClosePolicy, log, startChild, type ChildWorkflowHandle } from '@temporalio/workflow';
import { rolloutWorkflowId } from '../protocol/rollout-contract';
import type { RolloutCommandTemplate } from './rollout-command-start';
import { startLaneCommandsSignal, type LaneCommand } from './rollout-lane-signals';
import { rolloutLaneWorkflow } from './rollout-lane-workflow';

/**
 * The commands one lane starts per run of the rollout. A command costs its lane about four
 * history events (its start, its end, a share of signals and workflow tasks), so a lane's
 * history stays far below Temporal's limits (10,240 events warns) without continuing as new:
 * once every lane has its share, the rollout lets its commands finish and continues as new,
 * with new lanes.
 */
export const LANE_COMMANDS_PER_RUN = 1_500;

/**
 * A batch is split over the lanes (least loaded first) in parts of at least this many: a large
 * batch is shared, a small one costs one signal.
 */
export const MIN_LANE_BATCH = 8;

interface Lane {
  index: number;
  handle?: Promise<ChildWorkflowHandle<typeof rolloutLaneWorkflow>>;
  assigned: number;
  inFlight: Map<number, LaneCommand>;
  gone: boolean;
}

/**
 * The rollout's side of its lanes (RolloutSpec.lanes, rollout-lane-workflow.ts): starts them
 * when first needed, hands each batch of commands to the lane with the fewest in flight, and
 * gives back the commands of a lane that ended early (terminated by someone, or failed), which
 * the rollout then runs itself: a command it finds started already is awaited, not sent twice.
 */
export class RolloutLanes {
  private readonly lanes: Lane[];
  private readonly laneOf = new Map<number, Lane>();

  constructor(
    private readonly o: {
      count: number;
      generation: number;
      command: RolloutCommandTemplate;
      orphaned: (commands: LaneCommand[]) => void;
    },
  ) {
    this.lanes = Array.from({ length: o.count }, (_, index) => ({ index, assigned: 0, inFlight: new Map(), gone: false }));
  }

  /** Whether the lanes took all this run gives them: the rollout then drains and continues as new. */
  get full(): boolean {
    return this.lanes.every((l) => l.gone || l.assigned >= LANE_COMMANDS_PER_RUN);
  }

  /**
   * Hands the commands over: split in parts of at least MIN_LANE_BATCH over the lanes, each
   * part in one signal to the lane with the fewest in flight (the first such lane on a tie).
   */
  dispatch(commands: LaneCommand[]): void {
    const open = () => this.lanes.filter((l) => !l.gone && l.assigned < LANE_COMMANDS_PER_RUN);
    const part = Math.max(MIN_LANE_BATCH, Math.ceil(commands.length / Math.max(1, open().length)));
    let rest = commands;
    while (rest.length > 0) {
      const candidates = open();
      if (candidates.length === 0) return this.o.orphaned(rest);
      const lane = candidates.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
      const taken = rest.slice(0, Math.min(part, LANE_COMMANDS_PER_RUN - lane.assigned));
      rest = rest.slice(taken.length);
      lane.assigned += taken.length;
      for (const c of taken) {
        lane.inFlight.set(c.target, c);
        this.laneOf.set(c.target, lane);
      }
      void this.send(lane, taken);
    }
  }

  /** Whether a lane runs the command for `target` now: only such a command's end is taken from a lane's report. */
  holds(target: number): boolean {
    return this.laneOf.has(target);
  }

  /** The command for `target` ended (its lane reported it, or the rollout ran it itself). */
  ended(target: number): void {
    this.laneOf.get(target)?.inFlight.delete(target);
    this.laneOf.delete(target);
  }

  private async send(lane: Lane, commands: LaneCommand[]): Promise<void> {
    try {
      // Not cancellable: a rollout cancelled through Temporal lets what it started finish.
      await CancellationScope.nonCancellable(async () => {
        const handle = await (lane.handle ??= this.start(lane));
        await handle.signal(startLaneCommandsSignal, commands);
      });
    } catch (err) {
      this.lost(lane, err);
    }
  }

  private start(lane: Lane): Promise<ChildWorkflowHandle<typeof rolloutLaneWorkflow>> {
    const { command, generation } = this.o;
    const started = startChild(rolloutLaneWorkflow, {
      workflowId: `${rolloutWorkflowId(command.rolloutId)}.lane-${lane.index + 1}.run-${generation}`,
      args: [{ command, lane: lane.index + 1 }],
      // The run that started a lane ends only with none of its commands in flight; the lane then ends too.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `Lane ${lane.index + 1} of ${this.o.count} of rollout ${command.rolloutId} (run ${generation})`,
    });
    // A lane that ends while this run goes on leaves its commands to the rollout.
    started.then(
      (handle) =>
        handle.result().then(
          () => this.lost(lane, new Error('the lane ended')),
          (err: unknown) => this.lost(lane, err),
        ),
      () => {}, // send() sees the failed start
    );
    return started;
  }

  private lost(lane: Lane, err: unknown): void {
    if (lane.gone) return;
    lane.gone = true;
    const orphans = [...lane.inFlight.values()];
    lane.inFlight.clear();
    for (const c of orphans) this.laneOf.delete(c.target);
    log.warn('a rollout lane is gone; the rollout runs its commands itself', {
      rolloutId: this.o.command.rolloutId,
      lane: lane.index + 1,
      commands: orphans.length,
      error: err instanceof Error ? err.message : String(err),
    });
    if (orphans.length) this.o.orphaned(orphans);
  }
}
