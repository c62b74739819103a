import type { CommandRequest, CommandSnapshot, DevicePresence } from '../protocol/command-contract';
import type { PublishCause } from './command-metrics';
import { newRecord } from './command-record';
import { now } from './workflow-clock';

/**
 * What one run of a command workflow knows as it goes: read and written by its steps (the files
 * command-workflow.ts wires together), each given only the part it needs.
 */
export interface CommandRun {
  record: CommandSnapshot;
  /** The device's presence as last known (a presence signal, a publish, or the previous run). */
  presence: DevicePresence | undefined;
  /** Set by a presence signal: publish again now, and why. */
  republishBecause: string | undefined;
  /** Why the next publish happens (the dco_command_publishes metric). */
  publishCause: PublishCause;
  /** Presence-triggered re-publishes so far (bounded by MAX_PRESENCE_REPUBLISHES). */
  presenceRepublishes: number;
  /** Whether the history says the presence budget is spent (it says so once). */
  presenceBudgetNoted: boolean;
  /** Attempts that reached the broker (during a publish the record counts the one under way). */
  attempt: number;
  /** When the latest publish started: a device seen online before it has that copy. */
  lastPublishAt: number | undefined;
  /**
   * When the latest publish that reached the broker started. Unlike lastPublishAt, a try held
   * for an offline device does not count: the device got nothing then, so a status the entity
   * applies later but observed before that try is still news to this command.
   */
  lastSentAt: number | undefined;
  /** When the first publish started: the device may answer before its PUBACK reaches us. */
  firstPublishedAt: number | undefined;
  /** Serial: whether this command asked its device's entity for a turn, and got it. */
  serialTurn: 'none' | 'asked' | 'granted';
  acknowledgedAt: number | undefined;
  /** Result probes sent after silence (not those a reboot or a request caused): each waits twice as long as the one before. */
  resultProbes: number;
  /** After the ack: when the result timeout ends (epoch ms). */
  resultDeadline: number | undefined;
  /** Whether the device entity wakes this command (it asked, see wait-for-device.ts). */
  watching: boolean;
  /** When the command was first held for an offline device (before any publish). */
  heldSince: number | undefined;
  /** Ack windows that passed in silence (afterSilence weighs them against maxAttempts). */
  unanswered: number;
  /** The bridge's receive time of the latest device answer (for the delivery grace's note). */
  lastAnswerReceivedAt: string | undefined;
}

/** A new command's run, or, continued as new, the next run of one: it picks up exactly where the previous one stopped. */
export function startRun(request: CommandRequest): CommandRun {
  const carried = request.continued;
  const record = carried?.record ?? newRecord(request, now());
  return {
    record,
    presence: carried?.presence,
    republishBecause: undefined,
    publishCause: 'first',
    presenceRepublishes: carried?.presenceRepublishes ?? 0,
    presenceBudgetNoted: carried?.presenceBudgetNoted ?? false,
    attempt: record.attempts,
    lastPublishAt: undefined,
    lastSentAt: undefined,
    firstPublishedAt: carried?.firstPublishedAt,
    serialTurn: carried?.serialTurn ?? 'none',
    acknowledgedAt: carried?.acknowledgedAt,
    resultProbes: carried?.resultProbes ?? 0,
    resultDeadline: carried?.resultDeadline,
    watching: carried?.watching === true,
    heldSince: undefined,
    unanswered: carried?.unanswered ?? 0,
    lastAnswerReceivedAt: undefined,
  };
}

/** The device has not answered yet (neither acknowledged nor ended the command). */
export function waitingForAck(run: Pick<CommandRun, 'record'>): boolean {
  return run.record.state === 'Created' || run.record.state === 'Sent';
}

/** The device is offline as last known. */
export function isOffline(run: Pick<CommandRun, 'presence'>): boolean {
  return run.presence?.state === 'offline';
}
