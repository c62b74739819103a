import { condition, patched } from '@temporalio/workflow';
import type { CommandOptions } from '../protocol/command-options';
import { isTerminal } from '../protocol/command-state';
import { probeAfterWait, resultPhaseStep, resultProbeWaitMs, type Since } from './command-plan';
import { note, transition } from './command-record';
import { isOffline, type CommandRun } from './command-run';
import type { UpdateRecord } from './command-observability';
import type { AnswerGraces } from './answer-graces';
import type { ContinueAsNew } from './command-continue-as-new';
import { PROBE_RECHECKS_PRESENCE_PATCH } from './command-patches';
import { publishFailure } from './publish-failure';
import { now } from './workflow-clock';

/** What the result phase needs of the running command (command-workflow.ts): its state and its steps. */
export interface AwaitingResult extends Pick<AnswerGraces, 'answeredWithinDeliveryGrace'>, ContinueAsNew {
  options: CommandOptions;
  run: Pick<CommandRun, 'record' | 'presence' | 'resultDeadline' | 'resultProbes' | 'republishBecause' | 'publishCause'>;
  update: UpdateRecord;
  since: Since;
  /** Time left until expiresAt (ms, negative past it). */
  untilExpiry(): number;
  /** Publishes the next attempt; false when the device is offline (publish-attempt.ts). */
  publish(): Promise<boolean>;
}

/**
 * Acknowledged: wait for the result, re-publishing on a reboot or a long silence (a result
 * probe: the device re-sends a result it already sent). Ends in a terminal state.
 */
export async function resultPhase(c: AwaitingResult): Promise<void> {
  const { options, run, update, since } = c;
  // The ack phase ended in the workflow task that applied the ack: now is ack time.
  const deadline = (run.resultDeadline ??= Date.now() + options.resultTimeoutMs);
  while (!isTerminal(run.record.state)) {
    const probeWaitMs = resultProbeWaitMs(options.ackTimeoutMs, run.resultProbes, since);
    const step = resultPhaseStep({ deadlineMs: deadline, nowMs: Date.now(), resultTimeoutMs: options.resultTimeoutMs, probeWaitMs });
    if (step.kind === 'wait' && c.shouldContinueAsNew()) await c.continueNow(deadline);
    if (step.kind === 'time-out') {
      if (await c.answeredWithinDeliveryGrace(() => isTerminal(run.record.state), deadline)) break;
      update(transition(run.record, 'TimedOut', now(), 'result-timeout', step.reason));
      break;
    }
    const woke = await condition(() => isTerminal(run.record.state) || run.republishBecause !== undefined, step.waitMs);
    if (isTerminal(run.record.state) || deadline - Date.now() <= 0) continue;
    // Offline as last known: since the patch the publish asks the entity again (it may be back).
    const offline = isOffline(run) && !patched(PROBE_RECHECKS_PRESENCE_PATCH);
    const probe = probeAfterWait({ woke, offline, leftMs: c.untilExpiry() });
    if (probe.note) update(note(run.record, now(), 'result-probe', 'no result yet; publishing again so the device re-sends it'));
    if (!woke) {
      run.publishCause = 'result-probe';
      run.resultProbes++;
    }
    run.republishBecause = undefined;
    if (probe.publish) {
      try {
        if (!(await c.publish())) update(note(run.record, now(), 'device-offline', 'the device is offline: no probe now; the next one asks again'));
      } catch (err) {
        const failure = publishFailure(err);
        if (!failure) throw err;
        // The result may still come; the deadline decides.
        update(note(run.record, now(), 'publish-failed', `re-publish failed: ${failure.message}`));
      }
    }
  }
}
