import { Client, ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';

import { COMMAND_TASK_QUEUE } from '../protocol/command-contract';
import {
  approveRolloutUpdate,
  cancelRolloutSignal,
  FINAL_ROLLOUT_STATES,
  pauseRolloutSignal,
  resumeRolloutSignal,
  ROLLOUT_WORKFLOW_TYPE,
  rolloutStatusQuery,
  rolloutWorkflowId,
  type RolloutStatusView,
} from '../protocol/rollout-contract';
import { RolloutId, RolloutSpec, type RolloutSpecInput } from '../protocol/rollout-spec';
import { CommandNameAttribute, RolloutIdAttribute } from '../protocol/search-attributes';
import type { rolloutWorkflow } from '../workflows/rollout-workflow';
import { InvalidRequestError } from './errors';
import { LATE_ANSWERS_WORKFLOW_TYPE, LATE_OUTCOMES } from '../protocol/late-answers-contract';
import { kebabOf, rolloutReport, rolloutSpecOf, type ReportState, type RolloutReportRow } from './rollout-report';

/** A follow-up rollout was asked for devices in states that none of the rollout's devices is in. */
export class NothingToRetryError extends Error {
  constructor(rolloutId: string, states: readonly ReportState[]) {
    super(`rollout ${rolloutId} has no device whose outcome is ${states.map(kebabOf).join(' or ')}: nothing to retry`);
    this.name = 'NothingToRetryError';
  }
}

/** A follow-up of a rollout that has not ended: its devices' outcomes are not known yet. */
export class RolloutStillRunningError extends Error {
  constructor(rolloutId: string) {
    super(`rollout ${rolloutId} is still running: retry it once it has ended (\`dco rollout status ${rolloutId} --wait\`)`);
    this.name = 'RolloutStillRunningError';
  }
}

/** The rollout refused an approval (no gate there, already approved, ...): the message says why. */
export class ApprovalRefusedError extends Error {
  constructor(reason: string) {
    super(`approval refused: ${reason}`);
    this.name = 'ApprovalRefusedError';
  }
}

/** A status query the server fails is asked this many times in all, STATUS_QUERY_PAUSE_MS × try apart. */
export const STATUS_QUERY_TRIES = 4;
const STATUS_QUERY_PAUSE_MS = 500;

export class RolloutHandle {
  constructor(
    readonly rolloutId: string,
    private readonly handle: WorkflowHandle<typeof rolloutWorkflow>,
  ) {}

  get workflowId(): string {
    return this.handle.workflowId;
  }

  /**
   * Counts per state, per wave and overall; the final status once the rollout ended. A query
   * the server fails (the rollout just continued as new and its new run has not run a task yet,
   * or its worker is busy) is asked again, STATUS_QUERY_TRIES times at most, a little later each
   * time: a progress display must not die of it while the rollout goes on.
   */
  async status(): Promise<RolloutStatusView> {
    for (let attempt = 1; ; attempt++) {
      const { status } = await this.handle.describe();
      if (status.name !== 'RUNNING') return this.handle.result();
      try {
        return await this.handle.query(rolloutStatusQuery);
      } catch (err) {
        if (!(err instanceof ServiceError) || attempt >= STATUS_QUERY_TRIES) throw err;
        await new Promise((r) => setTimeout(r, STATUS_QUERY_PAUSE_MS * attempt));
      }
    }
  }

  result(): Promise<RolloutStatusView> {
    return this.handle.result();
  }

  /**
   * Answers its devices sent after their command had ended (late answers, counted apart from
   * the terminal states): late outcome → commands. From visibility, so it may lag a second.
   */
  async lateAnswers(): Promise<Record<string, number>> {
    const base = `WorkflowType = '${LATE_ANSWERS_WORKFLOW_TYPE}' AND RolloutId = '${this.rolloutId}'`;
    const out: Record<string, number> = {};
    for (const outcome of LATE_OUTCOMES) {
      const { count } = await this.handle.client.count(`${base} AND LateOutcome = '${outcome}'`);
      if (count > 0) out[outcome] = count;
    }
    return out;
  }

  /** Every device's outcome, attempts and times, streamed (client/rollout-report.ts). */
  report(): AsyncGenerator<RolloutReportRow> {
    return rolloutReport(this.handle.client, this.rolloutId);
  }

  pause(reason?: string): Promise<void> {
    return this.handle.signal(pauseRolloutSignal, reason);
  }

  resume(): Promise<void> {
    return this.handle.signal(resumeRolloutSignal);
  }

  /** Stops starting new device commands; those already sent finish and are counted. */
  cancel(reason?: string): Promise<void> {
    return this.handle.signal(cancelRolloutSignal, reason);
  }

  /** Opens the approval gate after `waveIndex` (default: the current wave); refused with a reason if there is none. */
  async approve(waveIndex?: number): Promise<RolloutStatusView> {
    try {
      return await this.handle.executeUpdate(approveRolloutUpdate, { args: [waveIndex ?? null] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new ApprovalRefusedError(err.cause?.message ?? err.message);
      const { status } = await this.handle.describe();
      if (status.name !== 'RUNNING') throw new ApprovalRefusedError(`the rollout has ended (${status.name.toLowerCase()})`);
      throw err;
    }
  }
}

export function isFinal(status: RolloutStatusView): boolean {
  return (FINAL_ROLLOUT_STATES as readonly string[]).includes(status.state);
}

/** Starting and following fleet rollouts. */
export class RolloutClient {
  private readonly taskQueue: string;

  constructor(
    private readonly temporal: Client,
    taskQueue = COMMAND_TASK_QUEUE,
  ) {
    this.taskQueue = taskQueue;
  }

  /**
   * Starts a rollout; idempotent while it runs (the same rolloutId returns the running one).
   * Running a finished rolloutId again is allowed and sends nothing to devices that already
   * got its command: their earlier outcome is counted.
   */
  async start(input: RolloutSpecInput): Promise<RolloutHandle> {
    const parsed = RolloutSpec.safeParse(input);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues);
    const spec = parsed.data;
    try {
      const handle = await this.temporal.workflow.start<typeof rolloutWorkflow>(ROLLOUT_WORKFLOW_TYPE, {
        workflowId: rolloutWorkflowId(spec.rolloutId),
        taskQueue: this.taskQueue,
        args: [{ spec }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        staticSummary: `rollout of \`${spec.name}\` to ${spec.targets.length} devices`,
        typedSearchAttributes: [
          { key: RolloutIdAttribute, value: spec.rolloutId },
          { key: CommandNameAttribute, value: spec.name },
        ],
      });
      return new RolloutHandle(spec.rolloutId, handle);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return this.get(spec.rolloutId);
      throw err;
    }
  }

  /**
   * A follow-up rollout: the same command, parameters, waves and limits as `rolloutId`, to its
   * devices whose outcome is one of `states` (for example Failed and TimedOut). It gets its own
   * rolloutId (default `<rolloutId>-r<time>`), so its devices are sent the command again.
   */
  async retry(rolloutId: string, states: readonly ReportState[], newRolloutId?: string): Promise<{ handle: RolloutHandle; devices: string[] }> {
    const original = this.get(rolloutId);
    const status = await original.status();
    if (!isFinal(status)) throw new RolloutStillRunningError(rolloutId);
    const spec = await rolloutSpecOf(this.temporal.workflow, rolloutId);
    const devices: string[] = [];
    for await (const row of rolloutReport(this.temporal.workflow, rolloutId, spec.targets))
      if ((states as readonly string[]).includes(row.state)) devices.push(row.deviceId);
    if (devices.length === 0) throw new NothingToRetryError(rolloutId, states);
    const order = new Map(spec.targets.map((d, i) => [d, i]));
    devices.sort((a, b) => order.get(a)! - order.get(b)!); // the original's order: its canary first
    const id = newRolloutId ?? `${rolloutId.slice(0, 50)}-r${Date.now().toString(36)}`;
    const handle = await this.start({ ...spec, rolloutId: id, targets: devices });
    return { handle, devices };
  }

  get(rolloutId: string): RolloutHandle {
    const parsed = RolloutId.safeParse(rolloutId);
    if (!parsed.success) throw new InvalidRequestError(parsed.error.issues);
    return new RolloutHandle(rolloutId, this.temporal.workflow.getHandle<typeof rolloutWorkflow>(rolloutWorkflowId(rolloutId)));
  }
}
