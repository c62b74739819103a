import { CancellationScope, TemporalFailure, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { commandWorkflowId, type CommandRequest, type CommandSnapshot } from '../protocol/command-contract';
import { isTerminal } from '../protocol/command-state';
import { validateCommandRequest } from '../protocol/validate-command-request';
import { COMMAND_TUNING_LIMITS, DELIVERY_GRACE_MS, EXPIRY_GRACE_MS } from '../protocol/command-limits';
import type { Since } from './command-plan';
import { INVALID_REQUEST, transition } from './command-record';
import { publishAsActivity, publishAsLocalActivity } from './command-activity-proxies';
import { LEAN_HISTORY_PATCH, SERIAL_ORDERING_PATCH } from './command-patches';
import { refuseInvalidRequest } from './refuse-invalid-command';
import { failureMessage } from './publish-failure';
import { releaseDeviceEntity } from './release-device-entity';
import { cancelOnDevice } from './cancel-on-device';
import { now } from './workflow-clock';
import { startRun } from './command-run';
import { observeCommand } from './command-observability';
import { setCommandHandlers } from './command-signal-handlers';
import { answerGraces } from './answer-graces';
import { serialTurnWaiter } from './serial-turn';
import { attemptPublisher } from './publish-attempt';
import { continueAsNew } from './command-continue-as-new';
import { deviceWaiter } from './wait-for-device';
import { ackPhase } from './ack-phase';
import { resultPhase } from './result-phase';

/**
 * How long past its expiry the device entity keeps a serial command's turn if the command never
 * gives it back (it was terminated): by then it has ended whatever happened.
 */
const TURN_HOLD_MARGIN_MS = 60_000;

/**
 * One device command: publish, wait for ack, wait for result, re-publish on silence, and end
 * in exactly one terminal state. Acks and results arrive as signals from the MQTT bridge and
 * may be duplicated, late or out of order; `applyDeviceMessage` makes that harmless.
 *
 * Presence: a device known to be offline gets nothing and costs no attempts; when it comes
 * online, or reboots while it holds the command, the command is published again at once.
 */
export async function commandWorkflow(input: CommandRequest): Promise<CommandSnapshot> {
  // Callers other than DcoClient (other languages, the `temporal` CLI) start this directly:
  // check the input first. Invalid input ends at once as Rejected; it issues no command that a
  // valid input would, so histories of valid commands replay unchanged.
  const checked = validateCommandRequest(input, workflowInfo().startTime.getTime());
  /** Whether this command started after a patch; asked by the plan only where it matters. */
  const since: Since = (patch) => patched(patch);
  if (!checked.ok) return refuseInvalidRequest(input, `${INVALID_REQUEST}: ${checked.reason}`);
  const request = checked.value;
  // The bridge delivers answers to command-<commandId>: under any other ID the command would
  // never hear its device, and would publish a commandId that is not its own.
  if (workflowInfo().workflowId !== commandWorkflowId(request.commandId)) {
    return refuseInvalidRequest(
      input,
      `${INVALID_REQUEST}: the workflow ID must be ${commandWorkflowId(request.commandId)} (command-<commandId>), got ${workflowInfo().workflowId}`,
    );
  }
  const { options } = request;
  const lean = patched(LEAN_HISTORY_PATCH);
  const publishCommand = lean ? publishAsLocalActivity : publishAsActivity;
  const expiresAtMs = Date.parse(request.expiresAt);
  /**
   * Past this the command has ended whatever happened (expiry, result timeout, the graces): how
   * long the device entity keeps its turn or its wake-ups if it never gives them back.
   */
  const entityHoldUntilMs = expiresAtMs + EXPIRY_GRACE_MS + options.resultTimeoutMs + DELIVERY_GRACE_MS + TURN_HOLD_MARGIN_MS;
  /**
   * While a device is offline, ask again this often whether it is back: a safety net for a
   * presence signal that never came (the bridge was down when the device returned).
   */
  const presenceRecheckMs = request.tuning?.presenceRecheckMs ?? COMMAND_TUNING_LIMITS.presenceRecheckMs.default;
  const maxHistoryEvents = request.tuning?.maxHistoryEvents ?? COMMAND_TUNING_LIMITS.maxHistoryEvents.default;
  const run = startRun(request);
  const update = observeCommand(request, run, lean);
  setCommandHandlers({ request, run, update, since });

  const untilExpiry = () => expiresAtMs - Date.now();
  const { answeredWithinGrace, answeredWithinDeliveryGrace } = answerGraces({ run, update, since, untilExpiry });
  const waitForTurn = serialTurnWaiter({ request, run, update, untilExpiry, entityHoldUntilMs });
  const publish = attemptPublisher({ request, run, update, publishCommand });
  const { shouldContinueAsNew, continueNow } = continueAsNew({ request, run, update, maxHistoryEvents });
  const waitForDevice = deviceWaiter({ request, run, since, entityHoldUntilMs });
  const steps = { options, run, update, since, untilExpiry, publish, answeredWithinGrace, answeredWithinDeliveryGrace, shouldContinueAsNew, continueNow };

  try {
    // Serial: nothing is published before the device's serial commands ahead of this one ended.
    if (run.serialTurn === 'none' && request.ordering?.mode === 'serial' && patched(SERIAL_ORDERING_PATCH)) {
      if (!(await waitForTurn())) {
        update(
          transition(
            run.record,
            'Expired',
            now(),
            'expired',
            'expired while waiting for its turn: serial commands ahead of it on this device were still running',
          ),
        );
      }
    }
    // Until the device acknowledges: publish, wait, publish again.
    await ackPhase({ ...steps, presenceRecheckMs, waitForDevice });
    // Acknowledged: wait for the result, re-publishing on a reboot or a long silence.
    if (run.record.state === 'Acknowledged') await resultPhase(steps);
  } catch (err) {
    if (isCancellation(err)) {
      if (!isTerminal(run.record.state))
        await CancellationScope.nonCancellable(() =>
          cancelOnDevice({
            request,
            record: () => run.record,
            update,
            acknowledgedAt: () => run.acknowledgedAt,
            resultDeadline: () => run.resultDeadline,
            answeredWithinDeliveryGrace,
          }),
        );
    } else if (err instanceof TemporalFailure && !isTerminal(run.record.state)) {
      // A Temporal failure would fail the workflow: a command ends in a command state instead.
      // (Other errors are bugs in this code: they fail the workflow task, which is retried.)
      // We do not know whether the device got it: TimedOut (stopped waiting; it may still execute).
      update(transition(run.record, 'TimedOut', now(), 'failed-unexpectedly', `stopped by an unexpected failure: ${failureMessage(err)}`));
    } else {
      throw err;
    }
  }
  await releaseDeviceEntity(request, { watching: run.watching, serialTurn: run.serialTurn !== 'none' });
  return run.record;
}
