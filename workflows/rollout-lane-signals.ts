import { defineSignal } from '@temporalio/workflow';
import { isTerminal, type CommandState } from '../protocol/command-state';
import { DEVICE_ID_PATTERN } from '../protocol/id-patterns';
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

/*
 * Anyone who can reach Temporal can send these signals, with any payload. A handler that throws
 * fails the workflow task, again at every retry: one odd signal would stop the rollout (or the
 * lane) for good. So each entry is checked, and what is not well formed is dropped.
 */
type Loose = Record<string, unknown>;
const isLoose = (v: unknown): v is Loose => typeof v === 'object' && v !== null;
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The well-formed entries of a `startCommands` payload. */
export function wellFormedLaneCommands(payload: unknown): LaneCommand[] {
  if (!Array.isArray(payload)) return [];
  return payload.filter(
    (c): c is LaneCommand =>
      isLoose(c) &&
      isIndex(c.target) &&
      typeof c.deviceId === 'string' &&
      DEVICE_ID_PATTERN.test(c.deviceId) &&
      typeof c.expiresAt === 'string' &&
      !Number.isNaN(Date.parse(c.expiresAt)) &&
      isFiniteNumber(c.startedAtMs),
  );
}

/** The well-formed entries of a `commandsEnded` payload (an odd adaptive sample is left out, the end kept). */
export function wellFormedLaneEnds(payload: unknown): LaneCommandEnd[] {
  if (!Array.isArray(payload)) return [];
  return payload.flatMap((e): LaneCommandEnd[] => {
    if (!isLoose(e) || !isIndex(e.target) || typeof e.state !== 'string' || !isTerminal(e.state as CommandState)) return [];
    const s = e.sample;
    const sample = isLoose(s) && isFiniteNumber(s.latencyMs) && isFiniteNumber(s.attempts) && typeof s.answered === 'boolean' ? s : undefined;
    return [
      {
        target: e.target,
        state: e.state as CommandState,
        ...(sample ? { sample: { latencyMs: sample.latencyMs as number, attempts: sample.attempts as number, answered: sample.answered as boolean } } : {}),
      },
    ];
  });
}
