import {
  CancellationScope,
  TemporalFailure,
  condition,
  isCancellation,
  makeContinueAsNewFunc,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  PUBLISH_FAILURE_TYPES,
  commandWorkflowId,
  deviceMessageSignal,
  devicePresenceSignal,
  snapshotQuery,
  type CommandRequest,
  type CommandSnapshot,
  type DevicePresence,
} from '../protocol/command-contract';
import { isTerminal, type CommandState } from '../protocol/command-state';
import { deviceTaskQueue } from '../protocol/device-contract';
import { serialTurnSignal } from '../protocol/device-queue-contract';
import { CommandNameAttribute, CommandStateAttribute, DeviceIdAttribute, RolloutIdAttribute } from '../protocol/search-attributes';
import { validateCommandRequest } from '../protocol/validate-command-request';
import { COMMAND_TUNING_LIMITS, DELIVERY_GRACE_MS, EXPIRY_GRACE_MS } from '../protocol/command-limits';
import {
  ackPhaseStep,
  ackWindowMs,
  afterSilence,
  deliveredAfterDeadline,
  deliveryGraceWaitMs,
  expiredReason,
  expiryGraceWaitMs,
  presenceStep,
  probeAfterWait,
  resultPhaseStep,
  resultProbeWaitMs,
  watchStep,
  type Since,
} from './command-plan';
import { applyDeviceMessage, endAfterPublishFailure, INVALID_REQUEST, newRecord, note, recordPublished, startAttempt, transition } from './command-record';
import { recordAckLatency, recordFinished, recordPublish, recordResultLatency, type PublishCause } from './command-metrics';
import { describeForHumans } from './command-summary';
import { enqueueOnDevice, publishAsActivity, publishAsLocalActivity, watchDevice } from './command-activity-proxies';
import { CONTINUE_AS_NEW_PATCH, LEAN_HISTORY_PATCH, PROBE_RECHECKS_PRESENCE_PATCH, SERIAL_ORDERING_PATCH } from './command-patches';
import { refuseInvalidRequest } from './refuse-invalid-command';
import { CommandStateVisibility } from './command-state-visibility';
import { failureMessage, publishFailure } from './publish-failure';
import { releaseDeviceEntity } from './release-device-entity';
import { cancelOnDevice } from './cancel-on-device';
import { now } from './workflow-clock';

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
  // A continued run picks up exactly where the previous one stopped.
  const carried = request.continued;
  let record = carried?.record ?? newRecord(request, now());
  let presence: DevicePresence | undefined = carried?.presence;
  /** Set by a presence signal: publish again now, and why. */
  let republishBecause: string | undefined;
  /** Why the next publish happens (the dco_command_publishes metric). */
  let publishCause: PublishCause = 'first';
  /** Presence-triggered re-publishes so far (bounded by MAX_PRESENCE_REPUBLISHES). */
  let presenceRepublishes = carried?.presenceRepublishes ?? 0;
  let presenceBudgetNoted = carried?.presenceBudgetNoted ?? false;
  let attempt = record.attempts;

  /** When the latest publish started: a device seen online before it has that copy. */
  let lastPublishAt: number | undefined;
  /**
   * When the latest publish that reached the broker started. Unlike lastPublishAt, a try held
   * for an offline device does not count: the device got nothing then, so a status the entity
   * applies later but observed before that try is still news to this command.
   */
  let lastSentAt: number | undefined;
  /** When the first publish started: the device may answer before its PUBACK reaches us. */
  let firstPublishedAt: number | undefined = carried?.firstPublishedAt;
  /** Serial: whether this command asked its device's entity for a turn, and got it. */
  let serialTurn: 'none' | 'asked' | 'granted' = carried?.serialTurn ?? 'none';
  let acknowledgedAt: number | undefined = carried?.acknowledgedAt;
  /** Result probes sent after silence (not those a reboot or a request caused): each waits twice as long as the one before. */
  let resultProbes = carried?.resultProbes ?? 0;
  /** After the ack: when the result timeout ends (epoch ms). */
  let resultDeadline: number | undefined = carried?.resultDeadline;
  /** Whether the device entity wakes this command (it asked, see waitForDevice). */
  let watching = carried?.watching === true;
  /** When the command was first held for an offline device (before any publish). */
  let heldSince: number | undefined;
  const observe = (state: CommandState) => {
    // A log line per state change, with the IDs people search logs by (the SDK adds the
    // workflow ID and run ID, and does not log again when a workflow is replayed).
    log.info(`command ${state}`, {
      commandId: request.commandId,
      deviceId: request.deviceId,
      command: request.name,
      ...(request.rolloutId ? { rolloutId: request.rolloutId } : {}),
      state,
      attempts: record.attempts,
      ...(record.reason ? { reason: record.reason } : {}),
    });
    if (state === 'Acknowledged' && acknowledgedAt === undefined) {
      acknowledgedAt = Date.now();
      if (firstPublishedAt !== undefined) recordAckLatency(acknowledgedAt - firstPublishedAt);
    }
    if (isTerminal(state)) {
      recordFinished(state, request.name);
      if (state === 'Succeeded' || state === 'Failed') recordResultLatency(Date.now() - (acknowledgedAt ?? Date.now()));
    }
  };

  /** The CommandState search attribute: upserted on each change (lean: once per activation). */
  const visibility = new CommandStateVisibility(() => record);
  // A continued run has logged and counted its state already.
  let observedState: CommandState | undefined = carried ? record.state : undefined;
  if (carried) setCurrentDetails(describeForHumans(record));
  const update = (next: CommandSnapshot) => {
    record = next;
    if (record.state === observedState) return;
    observedState = record.state;
    observe(record.state);
    setCurrentDetails(describeForHumans(record));
    if (lean) visibility.showSoon();
    else visibility.show();
  };

  const initial: SearchAttributeUpdatePair[] = [
    { key: DeviceIdAttribute, value: request.deviceId },
    { key: CommandNameAttribute, value: request.name },
  ];
  if (request.rolloutId) initial.push({ key: RolloutIdAttribute, value: request.rolloutId });
  if (lean) {
    // DcoClient and the rollout set all four at start; upsert only what a caller left out.
    initial.push({ key: CommandStateAttribute, value: record.state });
    const given = workflowInfo().typedSearchAttributes;
    const missing = initial.filter((pair) => given.get(pair.key) !== pair.value);
    if (missing.length > 0) upsertSearchAttributes(missing);
    visibility.shown(record.state); // nothing more to upsert for `Created`
  } else {
    upsertSearchAttributes(initial);
  }
  update(record);

  setHandler(snapshotQuery, () => record);
  /** The bridge's receive time of the latest device answer (for the delivery grace's note). */
  let lastAnswerReceivedAt: string | undefined;
  setHandler(deviceMessageSignal, (message) => {
    lastAnswerReceivedAt = message.receivedAt;
    update(applyDeviceMessage(record, message, now()));
  });
  setHandler(devicePresenceSignal, (next) => {
    const step = presenceStep(
      {
        deviceId: request.deviceId,
        known: presence,
        state: record.state,
        terminal: isTerminal(record.state),
        republishes: presenceRepublishes,
        budgetNoted: presenceBudgetNoted,
        ...(lastPublishAt !== undefined ? { lastPublishAt } : {}),
      },
      next,
      since,
    );
    if (step.kind !== 'ignore' || step.keep) presence = next;
    switch (step.kind) {
      case 'ignore':
        return;
      case 'note-online':
        return update(note(record, now(), 'device-online', step.detail));
      case 'budget-spent':
        if (step.note) {
          presenceBudgetNoted = true;
          update(note(record, now(), 'presence-budget-spent', step.detail));
        }
        return;
      case 'republish':
        presenceRepublishes++;
        republishBecause = step.because;
        publishCause = step.event;
        return update(note(record, now(), step.event, step.because));
    }
  });

  const waitingForAck = () => record.state === 'Created' || record.state === 'Sent';
  const untilExpiry = () => expiresAtMs - Date.now();
  const isOffline = () => presence?.state === 'offline';
  /**
   * Before ending Expired: if a copy may be out (a publish was started), give an answer on its
   * way until EXPIRY_GRACE_MS past expiresAt. True when the device answered meanwhile.
   */
  const answeredWithinGrace = async (): Promise<boolean> => {
    const waitMs = expiryGraceWaitMs({ publishStarted: firstPublishedAt !== undefined, leftMs: untilExpiry(), graceMs: EXPIRY_GRACE_MS }, since);
    return waitMs > 0 && condition(() => !waitingForAck(), waitMs);
  };

  /**
   * At a deadline, before ending TimedOut: the device's answer may still be in our queues
   * (bridge lanes, workflow task backlog). Wait DELIVERY_GRACE_MS for it; true (and a note
   * saying who was late) when it came.
   */
  const answeredWithinDeliveryGrace = async (answered: () => boolean, deadlineMs: number): Promise<boolean> => {
    const waitMs = deliveryGraceWaitMs(DELIVERY_GRACE_MS, since);
    if (waitMs <= 0 || !(await condition(answered, waitMs))) return false;
    const late = deliveredAfterDeadline({
      deadlineMs,
      receivedAtMs: lastAnswerReceivedAt ? Date.parse(lastAnswerReceivedAt) : undefined,
      appliedAtMs: Date.now(),
    });
    update(note(record, now(), late.event, late.detail));
    return true;
  };

  /**
   * Serial: asks the device entity for a turn and waits for it until expiry. True once granted;
   * false when the command expired first (nothing was published).
   */
  let turnGiven = false;
  setHandler(serialTurnSignal, () => {
    turnGiven = true;
  });
  const waitForTurn = async (): Promise<boolean> => {
    const priority = request.ordering?.priority ?? 0;
    update(note(record, now(), 'queued', `serial: waits for the device's serial commands ahead of it (priority ${priority})`));
    serialTurn = 'asked';
    await enqueueOnDevice({
      deviceId: request.deviceId,
      entityTaskQueue: deviceTaskQueue(workflowInfo().taskQueue),
      entry: {
        commandId: request.commandId,
        name: request.name,
        priority,
        enqueuedAt: now(),
        holdUntilMs: entityHoldUntilMs,
      },
    });
    if (!turnGiven && !(await condition(() => turnGiven, Math.max(untilExpiry(), 1)))) return false;
    serialTurn = 'granted';
    update(note(record, now(), 'turn', 'its turn on the device: the serial commands ahead of it ended'));
    return true;
  };

  /** Publishes attempt `attempt + 1`; false when the device is offline (nothing published). */
  const publish = async (): Promise<boolean> => {
    firstPublishedAt ??= Date.now();
    lastPublishAt = Date.now();
    update(startAttempt(record, attempt + 1));
    const result = await publishCommand({
      deviceId: request.deviceId,
      ...(presence ? { knownPresenceAt: presence.observedAt } : {}),
      command: {
        v: 1,
        commandId: request.commandId,
        name: request.name,
        params: request.params,
        attempt: attempt + 1,
        issuedAt: now(),
        expiresAt: request.expiresAt,
      },
    });
    if (result.presence && (!presence || Date.parse(result.presence.observedAt) >= Date.parse(presence.observedAt))) {
      presence = result.presence;
    }
    if (!result.published) {
      if (attempt === 0) firstPublishedAt = undefined; // waiting for an offline device is not ack latency
      update(startAttempt(record, attempt)); // nothing was sent: no attempt used
      return false;
    }
    attempt++;
    lastSentAt = lastPublishAt;
    recordPublish(publishCause);
    update(recordPublished(record, now()));
    return true;
  };

  /** Time to hand over to a new run (history long enough), at a point where nothing is in flight. */
  const shouldContinueAsNew = () => {
    const info = workflowInfo();
    return (info.continueAsNewSuggested || info.historyLength >= maxHistoryEvents) && patched(CONTINUE_AS_NEW_PATCH);
  };
  let unanswered = carried?.unanswered ?? 0;
  const continueNow = async (resultDeadline?: number): Promise<never> => {
    const runs = (carried?.runs ?? 0) + 1;
    const info = workflowInfo();
    update(note(record, now(), 'continued-as-new', `run ${runs + 1} of this command starts (the last run's history had ${info.historyLength} events)`));
    // Memo (the request digest) and search attributes (DeviceId, CommandState, ...) go along
    // explicitly: the bridge finds the new run by them.
    return makeContinueAsNewFunc<typeof commandWorkflow>({ memo: info.memo, typedSearchAttributes: info.typedSearchAttributes })({
      ...request,
      continued: {
        record,
        runs,
        unanswered,
        ...(presence ? { presence } : {}),
        presenceRepublishes,
        presenceBudgetNoted,
        ...(firstPublishedAt !== undefined ? { firstPublishedAt } : {}),
        ...(acknowledgedAt !== undefined ? { acknowledgedAt } : {}),
        ...(resultDeadline !== undefined ? { resultDeadline } : {}),
        ...(resultProbes > 0 ? { resultProbes } : {}),
        ...(serialTurn === 'granted' ? { serialTurn } : {}),
        ...(watching ? { watching } : {}),
      },
    });
  };

  /**
   * A wait for the device (`done` or `waitMs`, like `condition`) during which a command that
   * waits long asks the device entity to wake it (watchStep), once. The entity tells it at
   * once if it heard from the device after what the command knows. If the entity cannot be
   * reached, the command still re-checks by itself (PRESENCE_RECHECK, the ack timeout), and
   * asks again during its next wait.
   */
  const waitForDevice = async (done: () => boolean, waitMs: number, heldOffline = false): Promise<boolean> => {
    if (heldOffline) heldSince ??= Date.now();
    const endMs = Date.now() + waitMs;
    const step = watchStep({ watching, heldOffline, waitingSinceMs: firstPublishedAt ?? heldSince, nowMs: Date.now(), waitMs }, since);
    if (step.kind === 'wait') return condition(done, waitMs);
    if (step.afterMs > 0 && (await condition(done, step.afterMs))) return true;
    if (done()) return true;
    // What the command knows of the device: its latest copy that was sent, and the presence it
    // holds. Nothing known: since the epoch, so whatever the entity has heard is news (a
    // command's own clock would hide a status the entity applies just after the command asked
    // the activity, but observed before: the device's reboot would wait for the re-check).
    const knownAt = Math.max(lastSentAt ?? 0, presence ? Date.parse(presence.observedAt) : 0);
    try {
      await watchDevice({
        deviceId: request.deviceId,
        entityTaskQueue: deviceTaskQueue(workflowInfo().taskQueue),
        request: {
          kind: 'watch',
          commandId: request.commandId,
          since: new Date(knownAt).toISOString(),
          untilMs: entityHoldUntilMs,
        },
      });
      watching = true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('could not ask the device entity for wake-ups; the command re-checks by itself', {
        commandId: request.commandId,
        deviceId: request.deviceId,
        error: failureMessage(err as Error),
      });
    }
    const restMs = endMs - Date.now();
    return restMs > 0 ? condition(done, restMs) : done();
  };

  try {
    // Serial: nothing is published before the device's serial commands ahead of this one ended.
    if (serialTurn === 'none' && request.ordering?.mode === 'serial' && patched(SERIAL_ORDERING_PATCH)) {
      if (!(await waitForTurn())) {
        update(
          transition(record, 'Expired', now(), 'expired', 'expired while waiting for its turn: serial commands ahead of it on this device were still running'),
        );
      }
    }
    // Until the device acknowledges: publish, wait, publish again.
    while (waitingForAck()) {
      const step = ackPhaseStep({ leftMs: untilExpiry(), offline: isOffline(), lastEvent: record.history.at(-1)?.event, presenceRecheckMs }, since);
      if (step.kind === 'expire') {
        if (await answeredWithinGrace()) break;
        update(transition(record, 'Expired', now(), 'expired', expiredReason({ offline: isOffline(), leftMs: untilExpiry() })));
        break;
      }
      if (step.kind === 'wait-offline') {
        if (step.noteOffline) update(note(record, now(), 'device-offline', 'waiting for the device to come online; no attempt is used'));
        if (shouldContinueAsNew()) await continueNow();
        const woke = await waitForDevice(() => !waitingForAck() || !isOffline(), step.waitMs, true);
        if (!woke && untilExpiry() > 0) presence = undefined; // forget, and let the next publish look again
        continue;
      }
      try {
        if (!(await publish())) continue;
      } catch (err) {
        const failure = publishFailure(err);
        if (!failure) throw err;
        if (!waitingForAck()) break; // the device answered an earlier attempt meanwhile
        const expired = untilExpiry() <= 0 || failure.type === PUBLISH_FAILURE_TYPES.expired;
        // A try that failed may still have reached the broker: wait for an answer in flight.
        if (expired && (await answeredWithinGrace())) break;
        update(endAfterPublishFailure(record, { ...failure, expired: untilExpiry() <= 0 }, now()));
        break;
      }
      republishBecause = undefined;
      if (!waitingForAck()) break; // the device answered while we waited for the PUBACK

      const windowMs = ackWindowMs(options.ackTimeoutMs, untilExpiry());
      const ackDeadlineMs = Date.now() + windowMs;
      if (await waitForDevice(() => !waitingForAck() || republishBecause !== undefined, windowMs)) continue;

      unanswered++;
      const next = afterSilence({ unanswered, attempt, leftMs: untilExpiry(), options }, Math.random);
      if (next.kind === 'time-out') {
        if (await answeredWithinDeliveryGrace(() => !waitingForAck(), ackDeadlineMs)) break;
        update(transition(record, 'TimedOut', now(), 'ack-timeout', next.reason));
        break;
      }
      if (next.kind === 'wait-until-expiry') {
        // No time left for another attempt; a late ack may still arrive until expiry (and,
        // since the patch, during the grace after it).
        if (await waitForDevice(() => !waitingForAck(), next.waitMs)) break;
        if (await answeredWithinGrace()) break;
        update(transition(record, 'Expired', now(), 'expired', next.expiredReason));
        break;
      }
      update(note(record, now(), 'ack-timeout', next.note));
      publishCause = 'ack-timeout';
      // An ack for the previous attempt during the backoff still counts; a reboot cuts it short.
      await waitForDevice(() => !waitingForAck() || republishBecause !== undefined, Math.max(next.delayMs, 1));
    }

    // Acknowledged: wait for the result, re-publishing on a reboot or a long silence.
    if (record.state === 'Acknowledged') {
      // The loop above ended in the workflow task that applied the ack: now is ack time.
      const deadline = (resultDeadline ??= Date.now() + options.resultTimeoutMs);
      while (!isTerminal(record.state)) {
        const probeWaitMs = resultProbeWaitMs(options.ackTimeoutMs, resultProbes, since);
        const step = resultPhaseStep({ deadlineMs: deadline, nowMs: Date.now(), resultTimeoutMs: options.resultTimeoutMs, probeWaitMs });
        if (step.kind === 'wait' && shouldContinueAsNew()) await continueNow(deadline);
        if (step.kind === 'time-out') {
          if (await answeredWithinDeliveryGrace(() => isTerminal(record.state), deadline)) break;
          update(transition(record, 'TimedOut', now(), 'result-timeout', step.reason));
          break;
        }
        const woke = await condition(() => isTerminal(record.state) || republishBecause !== undefined, step.waitMs);
        if (isTerminal(record.state) || deadline - Date.now() <= 0) continue;
        // Offline as last known: since the patch the publish asks the entity again (it may be back).
        const offline = isOffline() && !patched(PROBE_RECHECKS_PRESENCE_PATCH);
        const probe = probeAfterWait({ woke, offline, leftMs: untilExpiry() });
        if (probe.note) update(note(record, now(), 'result-probe', 'no result yet; publishing again so the device re-sends it'));
        if (!woke) {
          publishCause = 'result-probe';
          resultProbes++;
        }
        republishBecause = undefined;
        if (probe.publish) {
          try {
            if (!(await publish())) update(note(record, now(), 'device-offline', 'the device is offline: no probe now; the next one asks again'));
          } catch (err) {
            const failure = publishFailure(err);
            if (!failure) throw err;
            // The result may still come; the deadline decides.
            update(note(record, now(), 'publish-failed', `re-publish failed: ${failure.message}`));
          }
        }
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      if (!isTerminal(record.state))
        await CancellationScope.nonCancellable(() =>
          cancelOnDevice({
            request,
            record: () => record,
            update,
            acknowledgedAt: () => acknowledgedAt,
            resultDeadline: () => resultDeadline,
            answeredWithinDeliveryGrace,
          }),
        );
    } else if (err instanceof TemporalFailure && !isTerminal(record.state)) {
      // A Temporal failure would fail the workflow: a command ends in a command state instead.
      // (Other errors are bugs in this code: they fail the workflow task, which is retried.)
      // We do not know whether the device got it: TimedOut (stopped waiting; it may still execute).
      update(transition(record, 'TimedOut', now(), 'failed-unexpectedly', `stopped by an unexpected failure: ${failureMessage(err)}`));
    } else {
      throw err;
    }
  }
  await releaseDeviceEntity(request, { watching, serialTurn: serialTurn !== 'none' });
  return record;
}
