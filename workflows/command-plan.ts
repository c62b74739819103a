/**
 * The command workflow's decisions, as pure functions like rollout-plan.ts: no Temporal API,
 * no clock (times are passed in), no randomness of their own (a draw is injected). The
 * workflow (command-workflow.ts) only wires them to timers, signals and the publish activity;
 * each path is unit-tested in test/unit/command-plan.test.ts.
 *
 * Where a decision depends on a patch (a rule added after commands were already running), the
 * function asks an injected `since(patch)` only at the point the old code would have differed,
 * so the workflow's history gets the marker exactly where it always did.
 */
import type { DevicePresence } from '../protocol/command-contract';
import { MAX_PRESENCE_REPUBLISHES, MIN_PUBLISH_LEFT_MS } from '../protocol/command-limits';
import type { CommandOptions } from '../protocol/command-options';
import type { CommandState } from '../protocol/command-state';
import { backoffDelayMs } from './backoff';

export const EXPIRY_GRACE_PATCH = 'expiry-grace';
export const PRESENCE_BUDGET_PATCH = 'presence-budget';
/** A device's request for its pending commands (its `pending` topic) re-publishes now; asked only when one arrives. */
export const PENDING_REQUEST_PATCH = 'pending-request';
export const DELIVERY_GRACE_PATCH = 'delivery-grace';
/**
 * A device seen online (or in a new boot) before the command's latest publish started got that
 * publish: its "came online" or "rebooted" is no reason to publish again. The command may hear
 * of it only afterwards (the entity tells it when it asks for wake-ups, or the entity applied the
 * status late) and may have known an older boot (the entity lags). Asked only where the code before it re-published.
 */
export const PUBLISHED_AFTER_ONLINE_PATCH = 'published-after-online';
/**
 * A command that waits long for its device asks the device entity to wake it (`watch`): when
 * the device comes online, reboots or asks for its pending commands. Before it, the bridge
 * searched every device's open commands through visibility at each status change. Asked only
 * when a command first waits long (watchStep).
 */
export const WAKE_VIA_ENTITY_PATCH = 'wake-via-entity';
/**
 * Result probes back off (resultProbeWaitMs). Asked only before a second probe, so a command
 * answered within its first probe window carries no marker.
 */
export const RESULT_PROBE_BACKOFF_PATCH = 'result-probe-backoff';
export type PatchId =
  | typeof RESULT_PROBE_BACKOFF_PATCH
  | typeof WAKE_VIA_ENTITY_PATCH
  | typeof EXPIRY_GRACE_PATCH
  | typeof PRESENCE_BUDGET_PATCH
  | typeof PENDING_REQUEST_PATCH
  | typeof DELIVERY_GRACE_PATCH
  | typeof PUBLISHED_AFTER_ONLINE_PATCH;
/** True when the running command started after the patch (Temporal's `patched`). */
export type Since = (patch: PatchId) => boolean;

// ---- before the ack ---------------------------------------------------------------------

export type AckPhaseStep =
  /** No time left to publish: end Expired (after the grace, if a copy may be out; see expiredReason). */
  | { kind: 'expire' }
  /** Known offline: wait for it (no attempt used), noting it once. */
  | { kind: 'wait-offline'; waitMs: number; noteOffline: boolean }
  | { kind: 'publish' };

/** What to do at the top of each round before the ack. */
export function ackPhaseStep(s: { leftMs: number; offline: boolean; lastEvent: string | undefined; presenceRecheckMs: number }, since: Since): AckPhaseStep {
  // Since expiry-grace: nothing is published with less than MIN_PUBLISH_LEFT_MS left.
  const tooLate = s.leftMs <= 0 || (s.leftMs < MIN_PUBLISH_LEFT_MS && since(EXPIRY_GRACE_PATCH));
  if (tooLate) return { kind: 'expire' };
  if (s.offline) {
    return { kind: 'wait-offline', waitMs: Math.max(1, Math.min(s.leftMs, s.presenceRecheckMs)), noteOffline: s.lastEvent !== 'device-offline' };
  }
  return { kind: 'publish' };
}

/** Why a command that was too late to publish ended Expired, as of when it ends (after any grace). */
export function expiredReason(s: { offline: boolean; leftMs: number }): string {
  if (s.offline) return 'time to live passed while the device was offline';
  if (s.leftMs > 0) return `less than ${MIN_PUBLISH_LEFT_MS} ms left before expiry: not published again`;
  return 'time to live passed before the device acknowledged';
}

/** The ack window of one attempt: the ack timeout, cut at expiry (at least 1 ms). */
export function ackWindowMs(ackTimeoutMs: number, leftMs: number): number {
  return Math.max(Math.min(ackTimeoutMs, leftMs), 1);
}

export type AfterSilence =
  /** That was the last attempt. */
  | { kind: 'time-out'; reason: string }
  /** No time for another attempt: wait for a late ack until expiry, then end Expired. */
  | { kind: 'wait-until-expiry'; waitMs: number; expiredReason: string }
  /** Publish again after this back-off. */
  | { kind: 'back-off'; delayMs: number; note: string };

/**
 * An attempt's ack window passed in silence; `unanswered` counts it. The back-off is drawn
 * (`random`) only when another attempt is possible, as the workflow always did.
 */
export function afterSilence(
  s: { unanswered: number; attempt: number; leftMs: number; options: Pick<CommandOptions, 'maxAttempts' | 'backoff'> },
  random: () => number,
): AfterSilence {
  if (s.unanswered >= s.options.maxAttempts) return { kind: 'time-out', reason: `no ack after ${s.attempt} attempt(s)` };
  const delayMs = backoffDelayMs(s.unanswered, s.options.backoff, random);
  if (delayMs >= s.leftMs) {
    return { kind: 'wait-until-expiry', waitMs: Math.max(s.leftMs, 1), expiredReason: `time to live passed after ${s.attempt} unacknowledged attempt(s)` };
  }
  return { kind: 'back-off', delayMs, note: `no ack for attempt ${s.attempt}; publishing again in ${delayMs} ms` };
}

/**
 * How long to wait, past expiresAt, for an answer on its way before ending Expired: only when
 * a copy may be out (a publish was started) and since the expiry-grace patch; else 0 (no wait).
 */
export function expiryGraceWaitMs(s: { publishStarted: boolean; leftMs: number; graceMs: number }, since: Since): number {
  if (!s.publishStarted || !since(EXPIRY_GRACE_PATCH)) return 0;
  return Math.max(1, s.leftMs + s.graceMs);
}

/**
 * How long to wait, at a deadline, for an answer still in our queues before ending TimedOut:
 * DELIVERY_GRACE_MS since the delivery-grace patch (asked only here, on the way to TimedOut,
 * so other histories carry no marker), else 0.
 */
export function deliveryGraceWaitMs(graceMs: number, since: Since): number {
  return since(DELIVERY_GRACE_PATCH) ? graceMs : 0;
}

/**
 * The note kept when an answer came during the delivery grace: whether the device was late
 * (the bridge received it after the deadline) or only our queues were.
 */
export function deliveredAfterDeadline(s: { deadlineMs: number; receivedAtMs: number | undefined; appliedAtMs: number }): { event: string; detail: string } {
  if (s.receivedAtMs !== undefined && s.receivedAtMs <= s.deadlineMs) {
    return {
      event: 'delivered-late',
      detail: `the answer reached the bridge ${s.deadlineMs - s.receivedAtMs} ms before the deadline and waited ${s.appliedAtMs - s.receivedAtMs} ms in our queues: on time`,
    };
  }
  const late = s.receivedAtMs === undefined ? s.appliedAtMs - s.deadlineMs : s.receivedAtMs - s.deadlineMs;
  return { event: 'answered-after-deadline', detail: `the device answered ${late} ms after the deadline, within the delivery grace; its outcome is kept` };
}

// ---- after the ack ----------------------------------------------------------------------

/**
 * After the ack, publish the same command again after this much silence. The device's journal
 * answers a repeated command with its stored ack and result, so a result lost on the way (a
 * broker killed before it saved the message) is recovered instead of ending in TimedOut.
 */
export function resultProbeMs(ackTimeoutMs: number): number {
  return Math.max(2 * ackTimeoutMs, 5_000);
}

/** The longest silence between two result probes: a long command (a firmware update of hours) is probed hourly at most. */
export const MAX_RESULT_PROBE_INTERVAL_MS = 3_600_000;

/**
 * The silence before the next result probe: resultProbeMs, doubling after each probe up to
 * MAX_RESULT_PROBE_INTERVAL_MS. A device that is executing for an hour is asked again about 8
 * times, not 180; each probe costs the device a message and the command a re-sent ack. Commands
 * from before the patch keep the fixed interval.
 */
export function resultProbeWaitMs(ackTimeoutMs: number, probesSoFar: number, since: Since): number {
  const base = resultProbeMs(ackTimeoutMs);
  if (probesSoFar <= 0 || !since(RESULT_PROBE_BACKOFF_PATCH)) return base;
  return Math.max(base, Math.min(base * 2 ** Math.min(probesSoFar, 30), MAX_RESULT_PROBE_INTERVAL_MS));
}

export type ResultPhaseStep = { kind: 'time-out'; reason: string } | { kind: 'wait'; waitMs: number };

/** Each round after the ack: the result deadline, or the wait until the next probe (`probeWaitMs`: resultProbeWaitMs). */
export function resultPhaseStep(s: { deadlineMs: number; nowMs: number; resultTimeoutMs: number; probeWaitMs: number }): ResultPhaseStep {
  const left = s.deadlineMs - s.nowMs;
  if (left <= 0) return { kind: 'time-out', reason: `no result within ${s.resultTimeoutMs} ms of the ack` };
  return { kind: 'wait', waitMs: Math.min(left, s.probeWaitMs) };
}

/** After that wait, with no result: probe (publish again) when the device can get it. */
export function probeAfterWait(s: { woke: boolean; offline: boolean; leftMs: number }): { note: boolean; publish: boolean } {
  return { note: !s.woke, publish: !s.offline && s.leftMs > 0 };
}

// ---- presence ---------------------------------------------------------------------------

export type PresenceStep =
  /** Nothing to do (another device, a stale status, the command ended, offline, no change). */
  | { kind: 'ignore'; keep: boolean }
  /** Not published yet: a note that it is online. */
  | { kind: 'note-online'; detail: string }
  /** Publish again now. */
  | { kind: 'republish'; event: 'device-rebooted' | 'device-online' | 'device-asked'; because: string }
  /** The re-publish budget is spent: note it (once). */
  | { kind: 'budget-spent'; note: boolean; detail: string };

/**
 * A presence signal (the bridge saw the device come online or reboot). `keep` says whether the
 * new presence replaces the one known (not for another device or a stale one).
 */
export function presenceStep(
  s: {
    deviceId: string;
    known: DevicePresence | undefined;
    state: CommandState;
    terminal: boolean;
    republishes: number;
    budgetNoted: boolean;
    /** When the latest publish started (epoch ms, the workflow's clock); undefined before the first. */
    lastPublishAt?: number;
  },
  next: DevicePresence,
  since: Since,
): PresenceStep {
  const before = s.known;
  if (next.deviceId !== s.deviceId) return { kind: 'ignore', keep: false };
  if (before && Date.parse(next.observedAt) < Date.parse(before.observedAt)) return { kind: 'ignore', keep: false }; // stale
  if (s.terminal || next.state !== 'online') return { kind: 'ignore', keep: true };
  const rebooted = before !== undefined && before.bootId !== next.bootId;
  const cameOnline = before === undefined || before.state !== 'online';
  if (s.state === 'Created') return cameOnline ? { kind: 'note-online', detail: `boot ${next.bootId}` } : { kind: 'ignore', keep: true };
  // The device asked for its pending commands: whatever presence said, it wants this one now.
  // (A patch: a worker without it took the request as plain presence.)
  const asked = next.asked === true && since(PENDING_REQUEST_PATCH);
  if (!rebooted && !cameOnline && !asked) return { kind: 'ignore', keep: true };
  // The device was already online, in this boot, when the latest publish started: it has that
  // copy. Waking it again would only duplicate it (a device that asks is answered all the same).
  const seenBeforePublish = s.lastPublishAt !== undefined && Date.parse(next.observedAt) <= s.lastPublishAt;
  if (seenBeforePublish && !asked && since(PUBLISHED_AFTER_ONLINE_PATCH)) return { kind: 'ignore', keep: true };
  if (s.republishes >= MAX_PRESENCE_REPUBLISHES && since(PRESENCE_BUDGET_PATCH)) {
    // A boot loop: the ack timeout's attempts still run; presence adds no more copies.
    return {
      kind: 'budget-spent',
      note: !s.budgetNoted,
      detail: `${MAX_PRESENCE_REPUBLISHES} re-publishes on reboot or reconnect already; later ones are not re-published`,
    };
  }
  if (rebooted) return { kind: 'republish', event: 'device-rebooted', because: `device rebooted (boot ${before!.bootId} → ${next.bootId})` };
  // Asking is the most precise cause, also when this command had not known the device yet.
  if (asked) return { kind: 'republish', event: 'device-asked', because: 'the device asked for its pending commands' };
  return { kind: 'republish', event: 'device-online', because: 'device came back online' };
}

// ---- wake-ups ---------------------------------------------------------------------------

/**
 * How long a device may keep a command waiting before the command asks its entity for wake-ups.
 * Asking costs the entity a workflow task, about the server CPU of a whole short command, so a
 * command answered within this time (the usual case, a rollout's commands) never asks, whatever
 * its timeouts; one that waits longer loses at most this long to not being woken at once.
 */
export const WATCH_AFTER_MS = 15_000;

export type WatchStep =
  /** Wait as planned. */
  | { kind: 'wait' }
  /** Wait `afterMs` (0: none), ask the entity if still waiting, then wait the rest. */
  | { kind: 'ask-during'; afterMs: number };

/**
 * Before a wait for the device: whether the command asks the device entity for wake-ups during
 * it. Once per command: at once when it is held for an offline device (waking it is exactly
 * the entity's job), otherwise once the device has kept it waiting WATCH_AFTER_MS since it
 * started waiting, if that falls within this wait. The patch is asked only then, so a command
 * answered in time carries no marker.
 */
export function watchStep(
  s: {
    watching: boolean;
    heldOffline: boolean;
    /** When the command started waiting for the device (its first publish, or its first hold). */
    waitingSinceMs: number | undefined;
    nowMs: number;
    waitMs: number;
  },
  since: Since,
): WatchStep {
  if (s.watching) return { kind: 'wait' };
  const askAt = s.heldOffline ? s.nowMs : (s.waitingSinceMs ?? s.nowMs) + WATCH_AFTER_MS;
  const afterMs = Math.max(0, askAt - s.nowMs);
  if (afterMs >= s.waitMs) return { kind: 'wait' };
  return since(WAKE_VIA_ENTITY_PATCH) ? { kind: 'ask-during', afterMs } : { kind: 'wait' };
}
