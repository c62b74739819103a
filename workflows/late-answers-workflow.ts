import { condition, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { deviceMessageSignal, type DeviceMessage } from '../protocol/command-contract';
import { LATE_ANSWERS_IDLE_MS, MAX_LATE_SIGNALS_PER_RUN, lateAnswersQuery, type LateAnswers, type LateAnswersInput } from '../protocol/late-answers-contract';
import { DeviceIdAttribute, LateOutcomeAttribute } from '../protocol/search-attributes';
import { addLateAnswer, newLateAnswers } from './late-answers';

/**
 * `late-<commandId>`: keeps what a device reported about a command after the command ended
 * (protocol/late-answers-contract.ts). Started by the bridge with signal-with-start; it takes
 * answers until none came for LATE_ANSWERS_IDLE_MS (or after MAX_LATE_SIGNALS_PER_RUN signals),
 * then ends with the record as its result, which stays readable for the namespace's retention.
 */
export async function lateAnswersWorkflow(input: LateAnswersInput): Promise<LateAnswers> {
  let record = newLateAnswers(input);
  let signals = 0;
  let lastSignal = 0;
  setHandler(lateAnswersQuery, () => record);
  setHandler(deviceMessageSignal, (m: DeviceMessage) => {
    signals++;
    const before = record.lateOutcome;
    record = addLateAnswer(record, m);
    if (record.lateOutcome !== before) show(record);
  });
  upsertSearchAttributes([{ key: DeviceIdAttribute, value: input.deviceId }]);
  show(record);
  // Wait while answers keep coming; each new signal restarts the idle wait.
  while (signals < MAX_LATE_SIGNALS_PER_RUN) {
    lastSignal = signals;
    const more = await condition(() => signals !== lastSignal, input.idleMs ?? LATE_ANSWERS_IDLE_MS);
    if (!more) break;
  }
  return record;
}

function show(record: LateAnswers): void {
  if (record.lateOutcome !== 'none') upsertSearchAttributes([{ key: LateOutcomeAttribute, value: record.lateOutcome }]);
  const kept = record.answers.map((a) => `${a.kind} ${a.status} at ${a.receivedAt}`).join('; ');
  setCurrentDetails(
    `Command ${record.commandId} (device ${record.deviceId}) had ended${record.endedAs ? ` as ${record.endedAs}` : ''} when the device answered: ` +
      `late outcome ${record.lateOutcome}${kept ? ` (${kept})` : ''}. The command's state does not change.`,
  );
}
