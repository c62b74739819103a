/**
 * Pure logic of a command's late answers record (protocol/late-answers-contract.ts): no
 * Temporal API, no clock, unit-tested on its own and used unchanged in the workflow.
 */
import type { DeviceMessage } from '../protocol/command-contract';
import { MAX_LATE_ANSWERS_KEPT, type LateAnswer, type LateAnswers, type LateAnswersInput } from '../protocol/late-answers-contract';

export function newLateAnswers(input: LateAnswersInput): LateAnswers {
  return {
    commandId: input.commandId,
    deviceId: input.deviceId,
    ...(input.endedAs ? { endedAs: input.endedAs } : {}),
    lateOutcome: 'none',
    answers: [],
    repeats: 0,
  };
}

/**
 * Adds one late answer. Only the command's device counts (the bridge checks it too), each kind
 * and status is kept once (QoS 1 repeats), and the first result decides `lateOutcome`: like the
 * command itself, the first answer of a kind is final.
 */
export function addLateAnswer(record: LateAnswers, m: DeviceMessage): LateAnswers {
  if (m.deviceId !== record.deviceId || m.message.commandId !== record.commandId) return { ...record, repeats: record.repeats + 1 };
  const seen = record.answers.some((a) => a.kind === m.kind && a.status === m.message.status);
  if (seen || record.answers.length >= MAX_LATE_ANSWERS_KEPT) return { ...record, repeats: record.repeats + 1 };
  const answer: LateAnswer = { kind: m.kind, status: m.message.status, receivedAt: m.receivedAt };
  if (m.kind === 'ack' && m.message.reason !== undefined) answer.reason = m.message.reason;
  if (m.kind === 'result' && m.message.output !== undefined) answer.output = m.message.output;
  if (m.kind === 'result' && m.message.error !== undefined) answer.error = m.message.error;
  const answers = [...record.answers, answer];
  return { ...record, answers, lateOutcome: lateOutcomeOf(answers) };
}

/** The first result's status; without one, the first ack's; `none` before any answer. */
export function lateOutcomeOf(answers: readonly LateAnswer[]): string {
  return (answers.find((a) => a.kind === 'result') ?? answers[0])?.status ?? 'none';
}
