import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CommandState } from './command-state';
import type { RolloutSpec } from './rollout-spec';

/**
 * The contract between callers and the rollout workflow on Temporal. The progress type is the
 * planner's (workflows/rollout-plan.ts); it is repeated here structurally only where callers
 * need it, so protocol/ keeps importing nothing outside itself.
 */

export const ROLLOUT_WORKFLOW_TYPE = 'rolloutWorkflow';

export function rolloutWorkflowId(rolloutId: string): string {
  return `rollout-${rolloutId}`;
}

export interface RolloutCountsView {
  pending: number;
  inFlight: number;
  succeeded: number;
  failed: number;
  rejected: number;
  timedOut: number;
  expired: number;
  cancelled: number;
}

/** What `rolloutStatusQuery` returns and the workflow's result. */
export interface RolloutStatusView {
  rolloutId: string;
  command: string;
  targets: number;
  /** running: start-more, wait-*, soak; gates: await-approval, paused; final: done, aborted, cancelled. */
  state: string;
  currentWave: string | undefined;
  waves: Array<{ name: string; start: number; end: number; approvalAfter: boolean; approved: boolean; counts: RolloutCountsView }>;
  overall: RolloutCountsView;
  pauseReason?: string;
  abortReason?: string;
  cancelReason?: string;
  /** Continue-as-new generations so far (history stays bounded at any fleet size). */
  generation: number;
  /** Adaptive concurrency (RolloutSpec.adaptive): the limit in flight now, its range so far, and its decreases. */
  concurrency?: { limit: number; min: number; max: number; decreases: number };
  /** The rate limit now, started commands per minute (it grows with a rate ramp); absent without one. */
  ratePerMinute?: number;
  /** A continuous rollout: its query, the devices it added after the start, and when it last looked. */
  continuous?: { query: string; joined: number; lastScanAt?: string; full?: boolean };
  /** Per-device maintenance windows: each time zone with devices not started yet, and its window once known. */
  timeZones?: Array<{ timeZone: string; pending: number; opensAt?: string; closesAt?: string }>;
}

export interface RolloutInput {
  spec: RolloutSpec;
  /** Carried over continue-as-new; absent on the first run. */
  carried?: { progress: unknown; generation: number; scan?: ContinuousScanState };
}

/** Where a continuous rollout's looks stand; carried over continue-as-new. */
export interface ContinuousScanState {
  /** The next look asks for changes at or after this time (the last look's start, less a margin for visibility lag). */
  sinceMs: number;
  /** When the next look is due. */
  nextAtMs: number;
  /** Devices added after the start, in all runs. */
  joined: number;
  lastScanAtMs?: number;
  /** The target list reached its size limit: no more looks. */
  full?: boolean;
}

export const rolloutStatusQuery = defineQuery<RolloutStatusView>('rolloutStatus');
export const pauseRolloutSignal = defineSignal<[reason?: string]>('pause');
export const resumeRolloutSignal = defineSignal('resume');
export const cancelRolloutSignal = defineSignal<[reason?: string]>('cancel');
/** An update, not a signal, so a wrong approval (no gate there, already approved) is refused with a reason. */
/** `waveIndex` null: the gate after the current wave. */
export const approveRolloutUpdate = defineUpdate<RolloutStatusView, [waveIndex: number | null]>('approve');

export const FINAL_ROLLOUT_STATES = ['done', 'aborted', 'cancelled'] as const;

/** Activities the rollout workflow calls; implemented in activities/. */
export interface RolloutActivities {
  /**
   * Waits for the outcome of a command that already exists under the rollout's commandId (a
   * repeated rollout): the device is not sent the command again, its earlier outcome counts.
   */
  awaitCommandOutcome(commandId: string): Promise<CommandState>;
  /**
   * The maintenance window open at `atMs`, or the next one (protocol/maintenance-window.ts), or
   * why there is none. An activity: time-zone rules are not workflow code.
   */
  maintenanceWindow(input: {
    window: NonNullable<RolloutSpec['window']>;
    atMs: number;
  }): Promise<{ opensAtMs: number; closesAtMs: number } | { invalid: string }>;
  /**
   * A continuous rollout's look (RolloutSpec.continuous): one page of the devices matching the
   * query whose reported attributes changed at or after `sinceMs`; `nextPageToken` while more.
   */
  devicesChangedSince(input: { query: string; sinceMs: number; pageToken?: string }): Promise<DevicesChangedPage>;
  /**
   * Per-device maintenance windows (RolloutSpec.window.deviceTimeZone): the time zone each
   * device reports (its entity's DeviceTimeZone), in the order asked; null for a device that
   * reports none, or one the Node.js build does not know. At most DEVICE_ZONES_PER_CALL IDs.
   */
  deviceTimeZones(input: { deviceIds: string[] }): Promise<{ timeZones: (string | null)[] }>;
}

/** deviceTimeZones takes this many IDs per call: one visibility query, 500 × ~20 bytes in and out of the rollout's history. */
export const DEVICE_ZONES_PER_CALL = 500;

export interface DevicesChangedPage {
  deviceIds: string[];
  nextPageToken?: string;
}
