import { PUBLISH_FAILURE_TYPES } from '../protocol/command-contract';
import type { CommandOptions } from '../protocol/command-options';
import { ackPhaseStep, ackWindowMs, afterSilence, expiredReason, type Since } from './command-plan';
import { endAfterPublishFailure, note, transition } from './command-record';
import { isOffline, waitingForAck, type CommandRun } from './command-run';
import type { UpdateRecord } from './command-observability';
import type { AnswerGraces } from './answer-graces';
import type { ContinueAsNew } from './command-continue-as-new';
import type { WaitForDevice } from './wait-for-device';
import { publishFailure } from './publish-failure';
import { now } from './workflow-clock';

/** What the ack phase needs of the running command (command-workflow.ts): its state and its steps. */
export interface AwaitingAck extends AnswerGraces, ContinueAsNew {
  options: CommandOptions;
  run: Pick<CommandRun, 'record' | 'presence' | 'republishBecause' | 'publishCause' | 'unanswered' | 'attempt'>;
  update: UpdateRecord;
  since: Since;
  /** Time left until expiresAt (ms, negative past it). */
  untilExpiry(): number;
  /**
   * While a device is offline, ask again this often whether it is back: a safety net for a
   * presence signal that never came (the bridge was down when the device returned).
   */
  presenceRecheckMs: number;
  /** Publishes the next attempt; false when the device is offline (publish-attempt.ts). */
  publish(): Promise<boolean>;
  waitForDevice: WaitForDevice;
}

/**
 * Until the device acknowledges: publish, wait, publish again. Ends when the device answered
 * (Acknowledged, or a terminal state it sent), or in the terminal state the command gave up in.
 */
export async function ackPhase(c: AwaitingAck): Promise<void> {
  const { options, run, update, since, untilExpiry } = c;
  while (waitingForAck(run)) {
    const step = ackPhaseStep(
      { leftMs: untilExpiry(), offline: isOffline(run), lastEvent: run.record.history.at(-1)?.event, presenceRecheckMs: c.presenceRecheckMs },
      since,
    );
    if (step.kind === 'expire') {
      if (await c.answeredWithinGrace()) break;
      update(transition(run.record, 'Expired', now(), 'expired', expiredReason({ offline: isOffline(run), leftMs: untilExpiry() })));
      break;
    }
    if (step.kind === 'wait-offline') {
      if (step.noteOffline) update(note(run.record, now(), 'device-offline', 'waiting for the device to come online; no attempt is used'));
      if (c.shouldContinueAsNew()) await c.continueNow();
      const woke = await c.waitForDevice(() => !waitingForAck(run) || !isOffline(run), step.waitMs, true);
      if (!woke && untilExpiry() > 0) run.presence = undefined; // forget, and let the next publish look again
      continue;
    }
    try {
      if (!(await c.publish())) continue;
    } catch (err) {
      const failure = publishFailure(err);
      if (!failure) throw err;
      if (!waitingForAck(run)) break; // the device answered an earlier attempt meanwhile
      const expired = untilExpiry() <= 0 || failure.type === PUBLISH_FAILURE_TYPES.expired;
      // A try that failed may still have reached the broker: wait for an answer in flight.
      if (expired && (await c.answeredWithinGrace())) break;
      update(endAfterPublishFailure(run.record, { ...failure, expired: untilExpiry() <= 0 }, now()));
      break;
    }
    run.republishBecause = undefined;
    if (!waitingForAck(run)) break; // the device answered while we waited for the PUBACK

    const windowMs = ackWindowMs(options.ackTimeoutMs, untilExpiry());
    const ackDeadlineMs = Date.now() + windowMs;
    if (await c.waitForDevice(() => !waitingForAck(run) || run.republishBecause !== undefined, windowMs)) continue;

    run.unanswered++;
    const next = afterSilence({ unanswered: run.unanswered, attempt: run.attempt, leftMs: untilExpiry(), options }, Math.random);
    if (next.kind === 'time-out') {
      if (await c.answeredWithinDeliveryGrace(() => !waitingForAck(run), ackDeadlineMs)) break;
      update(transition(run.record, 'TimedOut', now(), 'ack-timeout', next.reason));
      break;
    }
    if (next.kind === 'wait-until-expiry') {
      // No time left for another attempt; a late ack may still arrive until expiry (and,
      // since the patch, during the grace after it).
      if (await c.waitForDevice(() => !waitingForAck(run), next.waitMs)) break;
      if (await c.answeredWithinGrace()) break;
      update(transition(run.record, 'Expired', now(), 'expired', next.expiredReason));
      break;
    }
    update(note(run.record, now(), 'ack-timeout', next.note));
    run.publishCause = 'ack-timeout';
    // An ack for the previous attempt during the backoff still counts; a reboot cuts it short.
    await c.waitForDevice(() => !waitingForAck(run) || run.republishBecause !== undefined, Math.max(next.delayMs, 1));
  }
}
