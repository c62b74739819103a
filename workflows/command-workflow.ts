import {
  ActivityFailure,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  deviceMessageSignal,
  snapshotQuery,
  type CommandRequest,
  type CommandSnapshot,
  type CommandActivities,
} from '../protocol/command-contract';
import { isTerminal, type CommandState } from '../protocol/command-state';
import {
  CommandNameAttribute,
  CommandStateAttribute,
  DeviceIdAttribute,
  RolloutIdAttribute,
} from '../protocol/search-attributes';
import { backoffDelayMs } from './backoff';
import { applyDeviceMessage, newRecord, note, recordPublished, startAttempt, transition } from './command-record';
import { describeForHumans } from './command-summary';

/** The broker is local infrastructure: a publish either gets its PUBACK in seconds or is retried. */
const { publishCommand } = proxyActivities<CommandActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/**
 * One device command: publish, wait for ack, wait for result, re-publish on silence, and end
 * in exactly one terminal state. Acks and results arrive as signals from the MQTT bridge and
 * may be duplicated, late or out of order; `applyDeviceMessage` makes that harmless.
 */
export async function commandWorkflow(request: CommandRequest): Promise<CommandSnapshot> {
  const { options } = request;
  const expiresAtMs = Date.parse(request.expiresAt);
  let record = newRecord(request, now());
  let publishedState: CommandState | undefined;

  const update = (next: CommandSnapshot) => {
    record = next;
    if (record.state !== publishedState) {
      publishedState = record.state;
      upsertSearchAttributes([{ key: CommandStateAttribute, value: record.state }]);
      setCurrentDetails(describeForHumans(record));
    }
  };

  const initial: SearchAttributeUpdatePair[] = [
    { key: DeviceIdAttribute, value: request.deviceId },
    { key: CommandNameAttribute, value: request.name },
  ];
  if (request.rolloutId) initial.push({ key: RolloutIdAttribute, value: request.rolloutId });
  upsertSearchAttributes(initial);
  update(record);

  setHandler(snapshotQuery, () => record);
  setHandler(deviceMessageSignal, (message) => update(applyDeviceMessage(record, message, now())));

  const waitingForAck = () => record.state === 'Created' || record.state === 'Sent';
  const untilExpiry = () => expiresAtMs - Date.now();

  try {
    for (let attempt = 1; waitingForAck(); attempt++) {
      if (untilExpiry() <= 0) {
        update(transition(record, 'Expired', now(), 'expired', 'time to live passed before the device acknowledged'));
        break;
      }
      update(startAttempt(record, attempt));
      try {
        await publishCommand({
          deviceId: request.deviceId,
          command: {
            v: 1,
            commandId: request.commandId,
            name: request.name,
            params: request.params,
            attempt,
            issuedAt: now(),
            expiresAt: request.expiresAt,
          },
        });
      } catch (err) {
        if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
        if (!waitingForAck()) break; // the device answered an earlier attempt meanwhile
        // The activity retries until the command expires; reaching here means it did.
        update(transition(record, 'Expired', now(), 'publish-failed', `could not publish before expiry: ${err.cause?.message ?? err.message}`));
        break;
      }
      update(recordPublished(record, now()));
      if (!waitingForAck()) break; // the device answered while we waited for the PUBACK

      const ackWindow = Math.min(options.ackTimeoutMs, untilExpiry());
      if (await condition(() => !waitingForAck(), Math.max(ackWindow, 1))) break;

      if (attempt >= options.maxAttempts) {
        update(transition(record, 'TimedOut', now(), 'ack-timeout', `no ack after ${attempt} attempt(s)`));
        break;
      }
      const delay = backoffDelayMs(attempt, options.backoff, Math.random);
      if (delay >= untilExpiry()) {
        // No time left for another attempt; a late ack may still arrive until expiry.
        if (await condition(() => !waitingForAck(), Math.max(untilExpiry(), 1))) break;
        update(transition(record, 'Expired', now(), 'expired', `time to live passed after ${attempt} unacknowledged attempt(s)`));
        break;
      }
      update(note(record, now(), 'ack-timeout', `no ack for attempt ${attempt}; publishing again in ${delay} ms`));
      // An ack for the previous attempt during the backoff still counts.
      if (await condition(() => !waitingForAck(), Math.max(delay, 1))) break;
    }

    if (record.state === 'Acknowledged') {
      // The condition above resolved in the workflow task that applied the ack: now is ack time.
      if (!(await condition(() => isTerminal(record.state), options.resultTimeoutMs))) {
        update(transition(record, 'TimedOut', now(), 'result-timeout', `no result within ${options.resultTimeoutMs} ms of the ack`));
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    if (!isTerminal(record.state)) update(transition(record, 'Cancelled', now(), 'cancelled', 'cancelled by the caller'));
  }
  return record;
}

function now(): string {
  return new Date().toISOString();
}
