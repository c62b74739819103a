import { condition, patched } from '@temporalio/workflow';
import type { CommandRequest, CommandSnapshot } from '../protocol/command-contract';
import { isTerminal } from '../protocol/command-state';
import { EXPIRY_GRACE_MS } from '../protocol/command-limits';
import { publishCancel } from './command-activity-proxies';
import { note, transition } from './command-record';
import { CANCEL_REACHES_DEVICE_PATCH } from './command-patches';
import { publishFailure } from './publish-failure';
import { now } from './workflow-clock';

/** What cancelling needs of the running command (command-workflow.ts): its state, read and written as it goes. */
export interface CancellingCommand {
  request: Pick<CommandRequest, 'commandId' | 'deviceId' | 'expiresAt' | 'options'>;
  record(): CommandSnapshot;
  update(next: CommandSnapshot): void;
  /** Workflow time of the device's ack, if it acknowledged. */
  acknowledgedAt(): number | undefined;
  /** After the ack: when the result timeout ends (epoch ms). */
  resultDeadline(): number | undefined;
  /** At a deadline: waits the delivery grace for an answer still in our queues (true when it came). */
  answeredWithinDeliveryGrace(answered: () => boolean, deadlineMs: number): Promise<boolean>;
}

/**
 * The caller cancelled the command. Nothing was published: `Cancelled` at once. Otherwise the
 * device may have it: ask it to stop (the `cancel` topic) and keep its answer: `cancelled`
 * (confirmed: Cancelled), its real outcome (too late: Succeeded, Failed, Rejected), or, when
 * it answers nothing by the deadline, `TimedOut` (it may still execute it). The deadline is
 * an ack window from now, and after an ack the result deadline.
 */
export async function cancelOnDevice(c: CancellingCommand): Promise<void> {
  const mayHaveIt = c.record().state !== 'Created' || c.record().attempts > 0;
  if (!mayHaveIt) return c.update(transition(c.record(), 'Cancelled', now(), 'cancelled', 'cancelled by the caller before it reached the device'));
  if (!patched(CANCEL_REACHES_DEVICE_PATCH)) return c.update(transition(c.record(), 'Cancelled', now(), 'cancelled', 'cancelled by the caller'));
  const askedAt = Date.now();
  const answerBy = () => {
    const byAck = askedAt + c.request.options.ackTimeoutMs;
    if (c.record().state !== 'Acknowledged') return byAck;
    return Math.max(byAck, c.resultDeadline() ?? (c.acknowledgedAt() ?? askedAt) + c.request.options.resultTimeoutMs);
  };
  c.update(note(c.record(), now(), 'cancel-requested', `cancelled by the caller after attempt ${c.record().attempts}: asking the device to stop it`));
  try {
    await publishCancel({
      deviceId: c.request.deviceId,
      cancel: { v: 1, commandId: c.request.commandId, issuedAt: now() },
      expirySeconds: (answerBy() - Date.now()) / 1000,
    });
    c.update(note(c.record(), now(), 'cancel-sent'));
  } catch (err) {
    const failure = publishFailure(err);
    if (!failure) throw err;
    // The device may still answer the command itself; the deadline decides.
    c.update(note(c.record(), now(), 'cancel-publish-failed', `the cancel request could not be published: ${failure.message}`));
  }
  for (;;) {
    const by = answerBy();
    if (await condition(() => isTerminal(c.record().state) || answerBy() !== by, Math.max(by - Date.now(), 1))) {
      if (isTerminal(c.record().state)) return;
      continue; // acknowledged meanwhile: wait for the result (or the cancel's answer) until its deadline
    }
    if (await c.answeredWithinDeliveryGrace(() => isTerminal(c.record().state), by)) return;
    const waited = Math.round((Date.now() - askedAt) / 1000);
    const acknowledged = c.record().state === 'Acknowledged';
    if (!acknowledged && Date.parse(c.request.expiresAt) - Date.now() + EXPIRY_GRACE_MS <= 0) {
      return c.update(
        transition(
          c.record(),
          'Expired',
          now(),
          'expired',
          'cancelled by the caller, and expired before the device answered the cancel: it will not execute it',
        ),
      );
    }
    return c.update(
      transition(
        c.record(),
        'TimedOut',
        now(),
        'cancel-unconfirmed',
        acknowledged
          ? `cancelled by the caller, but the device, which had acknowledged the command, answered neither the cancel nor with a result in ${waited} s: it may still execute it until expiresAt`
          : `cancelled by the caller, but the device did not answer the cancel in ${waited} s: it may have received the command and execute it until expiresAt`,
      ),
    );
  }
}
