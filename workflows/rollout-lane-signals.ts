import { defineSignal } from '@temporalio/workflow';
import type { RolloutCommandEnd } from './rollout-command-start';

/** What a rollout and its lanes (rollout-lane-workflow.ts) tell each other. Internal to the rollout. */

/**
 * One device command for a lane to start: the rollout's index of its target, its device, its
 * deadline, and when the rollout decided to start it. The rest of the command is in the lane's
 * input (once, not in every signal: a signal's payload is limited to 2 MB).
 */
export interface LaneCommand {
  target: number;
  deviceId: string;
  expiresAt: string;
  startedAtMs: number;
}

export interface LaneCommandEnd extends RolloutCommandEnd {
  target: number;
}

/** Rollout → lane: start these. */
export const startLaneCommandsSignal = defineSignal<[LaneCommand[]]>('startCommands');

/** Lane → rollout: these ended (all that ended since the lane's last report). */
export const laneCommandsEndedSignal = defineSignal<[LaneCommandEnd[]]>('commandsEnded');
