import { condition } from '@temporalio/workflow';
import { DELIVERY_GRACE_MS, EXPIRY_GRACE_MS } from '../protocol/command-limits';
import { deliveredAfterDeadline, deliveryGraceWaitMs, expiryGraceWaitMs, type Since } from './command-plan';
import { note } from './command-record';
import { waitingForAck, type CommandRun } from './command-run';
import type { UpdateRecord } from './command-observability';
import { now } from './workflow-clock';

/** What the graces need of the running command (command-workflow.ts). */
export interface AwaitingAnswers {
  run: Pick<CommandRun, 'record' | 'firstPublishedAt' | 'lastAnswerReceivedAt'>;
  update: UpdateRecord;
  since: Since;
  /** Time left until expiresAt (ms, negative past it). */
  untilExpiry(): number;
}

/** The last waits before a command gives up on its device: an answer may be on its way. */
export interface AnswerGraces {
  /**
   * Before ending Expired: if a copy may be out (a publish was started), give an answer on its
   * way until EXPIRY_GRACE_MS past expiresAt. True when the device answered meanwhile.
   */
  answeredWithinGrace(): Promise<boolean>;
  /**
   * At a deadline, before ending TimedOut: the device's answer may still be in our queues
   * (bridge lanes, workflow task backlog). Wait DELIVERY_GRACE_MS for it; true (and a note
   * saying who was late) when it came.
   */
  answeredWithinDeliveryGrace(answered: () => boolean, deadlineMs: number): Promise<boolean>;
}

export function answerGraces(c: AwaitingAnswers): AnswerGraces {
  const { run, update, since } = c;
  const answeredWithinGrace = async (): Promise<boolean> => {
    const waitMs = expiryGraceWaitMs({ publishStarted: run.firstPublishedAt !== undefined, leftMs: c.untilExpiry(), graceMs: EXPIRY_GRACE_MS }, since);
    return waitMs > 0 && condition(() => !waitingForAck(run), waitMs);
  };

  const answeredWithinDeliveryGrace = async (answered: () => boolean, deadlineMs: number): Promise<boolean> => {
    const waitMs = deliveryGraceWaitMs(DELIVERY_GRACE_MS, since);
    if (waitMs <= 0 || !(await condition(answered, waitMs))) return false;
    const late = deliveredAfterDeadline({
      deadlineMs,
      receivedAtMs: run.lastAnswerReceivedAt ? Date.parse(run.lastAnswerReceivedAt) : undefined,
      appliedAtMs: Date.now(),
    });
    update(note(run.record, now(), late.event, late.detail));
    return true;
  };
  return { answeredWithinGrace, answeredWithinDeliveryGrace };
}
