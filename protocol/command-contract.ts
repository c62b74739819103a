import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AckMessage, CancelMessage, CommandError, CommandMessage, ResultMessage } from './messages';
import type { CommandState } from './command-state';
import type { CommandOptions } from './command-options';
import type { CommandOrdering } from './command-ordering';

/**
 * The contract between callers, the bridge and the command workflow on Temporal: workflow
 * input, signals, queries and the outcome. Only types and definitions live here.
 */

export const COMMAND_TASK_QUEUE = 'dco-commands';
export const COMMAND_WORKFLOW_TYPE = 'commandWorkflow';

/** One command per workflow; the workflow ID is derived from the commandId alone. */
export function commandWorkflowId(commandId: string): string {
  return `command-${commandId}`;
}

export interface CommandRequest {
  commandId: string;
  deviceId: string;
  name: string;
  params: Record<string, unknown>;
  /** Absolute deadline (ISO-8601): nothing is published after it, the device must not execute after it. */
  expiresAt: string;
  options: CommandOptions;
  /** Set when the command belongs to a rollout (search attribute RolloutId). */
  rolloutId?: string;
  /** Rarely needed knobs (tests, operators); defaults in command-limits.ts. */
  tuning?: CommandTuning;
  /** Absent: parallel (command-ordering.ts). */
  ordering?: CommandOrdering;
  /**
   * Set only by the command workflow itself when it continues as new: where the previous run
   * stopped. Callers never set it.
   */
  continued?: CommandContinuation;
}

export interface CommandTuning {
  /** While the device is offline, ask again this often whether it is back (default 2 min). */
  presenceRecheckMs?: number;
  /** Continue as new once a run's history has this many events (default 10,000). */
  maxHistoryEvents?: number;
}

/** What a command workflow run hands to the next one (continue-as-new): its whole state. */
export interface CommandContinuation {
  record: CommandSnapshot;
  /** Runs before this one (1 for the first continuation). */
  runs: number;
  unanswered: number;
  presence?: DevicePresence;
  presenceRepublishes: number;
  presenceBudgetNoted: boolean;
  firstPublishedAt?: number;
  acknowledgedAt?: number;
  /** After the ack: when the result timeout ends (epoch ms). */
  resultDeadline?: number;
  /** Result probes sent after silence so far (their interval doubles: command-plan.ts resultProbeWaitMs). */
  resultProbes?: number;
  /** A serial command that holds its device's turn (it gives it back when it ends). */
  serialTurn?: 'granted';
  /** The device entity wakes this command (it says `unwatch` when it ends). */
  watching?: true;
}

/** What the bridge forwards from a device topic. `deviceId` is taken from the topic, not the payload. */
export type DeviceMessage =
  { kind: 'ack'; deviceId: string; receivedAt: string; message: AckMessage } | { kind: 'result'; deviceId: string; receivedAt: string; message: ResultMessage };

export interface HistoryEntry {
  at: string;
  /** What happened: a transition (`state` set) or a message that changed nothing. */
  event: string;
  /** The state after this entry. */
  state: CommandState;
  attempt: number;
  reason?: string;
}

export interface CommandSnapshot {
  commandId: string;
  deviceId: string;
  name: string;
  params: Record<string, unknown>;
  rolloutId?: string;
  state: CommandState;
  /** Publishes so far (the attempt number of the last publish). */
  attempts: number;
  createdAt: string;
  expiresAt: string;
  /** Why the command is in its state, when a reason exists (rejection reason, timeout, ...). */
  reason?: string;
  output?: Record<string, unknown>;
  error?: CommandError;
  history: HistoryEntry[];
  /** History entries dropped to keep the workflow state bounded under a flood of duplicates. */
  historyDropped: number;
}

/** What is known about a device's presence, from its retained `status` topic. */
export interface DevicePresence {
  deviceId: string;
  state: 'online' | 'offline';
  bootId: string;
  /** When this was observed (by the bridge or the worker). */
  observedAt: string;
  /** Set when the device itself asked for its pending commands (its `pending` topic): publish again now. */
  asked?: boolean;
}

export const deviceMessageSignal = defineSignal<[DeviceMessage]>('deviceMessage');
/**
 * Sent by the device entity to the commands waiting for the device (device-watch-contract.ts)
 * when it comes online, reboots or asks for its pending commands.
 */
export const devicePresenceSignal = defineSignal<[DevicePresence]>('devicePresence');
export const snapshotQuery = defineQuery<CommandSnapshot>('snapshot');

export interface PublishCommandInput {
  deviceId: string;
  command: CommandMessage;
  /**
   * `observedAt` of the presence the workflow knows: the activity holds the command for an
   * offline device only when the entity's news is newer than that.
   */
  knownPresenceAt?: string;
}

export type PublishCommandResult =
  /** The broker acknowledged the publish (PUBACK). */
  | { published: true; presence?: DevicePresence }
  /** Not published: the device is known to be offline (its entity says so). */
  | { published: false; presence: DevicePresence };

/**
 * `ApplicationFailure` types of publishCommand that are final (non-retryable); the command
 * workflow ends the command on them (Expired, or Rejected with the reason).
 */
export const PUBLISH_FAILURE_TYPES = {
  /** The command's expiresAt passed: it must never be published again. */
  expired: 'CommandExpired',
  /** Not published and never will be: the broker refused it (PUBACK >= 0x80) or it cannot be encoded. */
  refused: 'PublishRefused',
} as const;

export interface PublishCancelInput {
  deviceId: string;
  cancel: CancelMessage;
  /** MQTT message expiry: how long the command waits for the device's answer to it. */
  expirySeconds: number;
}

/** Activities the command workflow calls; implemented in activities/. */
export interface CommandActivities {
  /**
   * Publishes at QoS 1, not retained, with message expiry; resolves after the broker's PUBACK.
   * Does not publish to a device whose entity says it is offline. Fails for good
   * (non-retryable, see PUBLISH_FAILURE_TYPES) when the command expired or the publish is refused.
   */
  publishCommand(input: PublishCommandInput): Promise<PublishCommandResult>;
  /**
   * Publishes a cancel request on the device's `cancel` topic (QoS 1, not retained, expiring
   * with `expirySeconds`), whatever its presence: an offline device with a persistent session
   * gets it when it comes back, before the expiry. Resolves after the broker's PUBACK.
   */
  publishCancel(input: PublishCancelInput): Promise<void>;
}
