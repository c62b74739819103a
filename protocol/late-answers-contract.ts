import { defineQuery } from '@temporalio/workflow';
import type { DeviceMessage } from './command-contract';

/**
 * Answers that arrive after their command ended (a device back from a long outage executes
 * a command that had already ended `TimedOut`, or a result is redelivered late). The command's
 * workflow is closed and cannot take them, but they are evidence of what the device did, so
 * the bridge attaches them to the command through a small companion workflow per command:
 * `late-<commandId>`, started by the first late answer (signal-with-start, the bridge's
 * `deviceMessage` signal) and kept open while answers come. `dco get` and
 * `CommandHandle.lateAnswers()` show them; the Web UI finds them with `LateOutcome = "..."`.
 *
 * A late answer never changes the command's terminal state: the first outcome is final. It
 * says what the device reported afterwards, e.g. a command that ended `TimedOut` was executed
 * after all (`lateOutcome` `succeeded`).
 */

export const LATE_ANSWERS_WORKFLOW_TYPE = 'lateAnswersWorkflow';

/** Another prefix than `command-`: no commandId can make the two IDs collide. */
export function lateAnswersWorkflowId(commandId: string): string {
  return `late-${commandId}`;
}

export interface LateAnswersInput {
  commandId: string;
  /** The command's device (the bridge checked that the answer came from it). */
  deviceId: string;
  /** The command's terminal state when the first late answer came, as Temporal showed it. */
  endedAs?: string;
  /** The command's rollout, if any: the record carries the RolloutId search attribute, so a rollout counts its late answers. */
  rolloutId?: string;
  /** How long the record stays open without a new answer (default LATE_ANSWERS_IDLE_MS). */
  idleMs?: number;
}

export interface LateAnswer {
  kind: DeviceMessage['kind'];
  /** The ack's or the result's status: accepted / rejected, succeeded / failed / cancelled. */
  status: string;
  receivedAt: string;
  reason?: string;
  output?: Record<string, unknown>;
  error?: { code: string; message: string };
}

export interface LateAnswers {
  commandId: string;
  deviceId: string;
  endedAs?: string;
  /**
   * What the device says happened: the status of its first late result, else of its first late
   * ack (`accepted` means it received the command; whether it executed is not known yet).
   */
  lateOutcome: string;
  /** Distinct answers in the order they came (the same kind and status once), at most MAX_LATE_ANSWERS_KEPT. */
  answers: LateAnswer[];
  /** Copies not kept: repeats of a kept answer, or beyond the bound. */
  repeats: number;
}

/** A late answers record keeps at most this many distinct answers. */
export const MAX_LATE_ANSWERS_KEPT = 8;
/** The companion workflow ends after this long without a new answer (it can start again). */
export const LATE_ANSWERS_IDLE_MS = 60 * 60_000;
/** It takes at most this many signals, then ends (a flood cannot grow its history for long). */
export const MAX_LATE_SIGNALS_PER_RUN = 200;

/** The values of the LateOutcome search attribute (a result's status, else an ack's). */
export const LATE_OUTCOMES = ['succeeded', 'failed', 'cancelled', 'accepted', 'rejected'] as const;

export const lateAnswersQuery = defineQuery<LateAnswers>('lateAnswers');
