import { setHandler } from '@temporalio/workflow';
import { deviceMessageSignal, devicePresenceSignal, snapshotQuery, type CommandRequest } from '../protocol/command-contract';
import { isTerminal } from '../protocol/command-state';
import { presenceStep, type Since } from './command-plan';
import { applyDeviceMessage, note } from './command-record';
import type { CommandRun } from './command-run';
import type { UpdateRecord } from './command-observability';
import { now } from './workflow-clock';

/** What the command's query and signal handlers need of the running command (command-workflow.ts). */
export interface ListeningCommand {
  request: Pick<CommandRequest, 'deviceId'>;
  run: Pick<
    CommandRun,
    'record' | 'presence' | 'lastAnswerReceivedAt' | 'presenceRepublishes' | 'presenceBudgetNoted' | 'republishBecause' | 'publishCause' | 'lastPublishAt'
  >;
  update: UpdateRecord;
  since: Since;
}

/**
 * The snapshot query, and the signals the bridge forwards: the device's answers (acks and
 * results, applied by `applyDeviceMessage`) and its presence, which may call for a publish now
 * (ack-phase.ts and result-phase.ts see `republishBecause`).
 */
export function setCommandHandlers(c: ListeningCommand): void {
  const { request, run, update, since } = c;
  setHandler(snapshotQuery, () => run.record);
  setHandler(deviceMessageSignal, (message) => {
    run.lastAnswerReceivedAt = message.receivedAt;
    update(applyDeviceMessage(run.record, message, now()));
  });
  setHandler(devicePresenceSignal, (next) => {
    const step = presenceStep(
      {
        deviceId: request.deviceId,
        known: run.presence,
        state: run.record.state,
        terminal: isTerminal(run.record.state),
        republishes: run.presenceRepublishes,
        budgetNoted: run.presenceBudgetNoted,
        ...(run.lastPublishAt !== undefined ? { lastPublishAt: run.lastPublishAt } : {}),
      },
      next,
      since,
    );
    if (step.kind !== 'ignore' || step.keep) run.presence = next;
    switch (step.kind) {
      case 'ignore':
        return;
      case 'note-online':
        return update(note(run.record, now(), 'device-online', step.detail));
      case 'budget-spent':
        if (step.note) {
          run.presenceBudgetNoted = true;
          update(note(run.record, now(), 'presence-budget-spent', step.detail));
        }
        return;
      case 'republish':
        run.presenceRepublishes++;
        run.republishBecause = step.because;
        run.publishCause = step.event;
        return update(note(run.record, now(), step.event, step.because));
    }
  });
}
