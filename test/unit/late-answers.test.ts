import fc from 'fast-check';
import type { DeviceMessage } from '../../protocol/command-contract';
import { MAX_LATE_ANSWERS_KEPT } from '../../protocol/late-answers-contract';
import { addLateAnswer, lateOutcomeOf, newLateAnswers } from '../../workflows/late-answers';

const CMD = 'pump-7.reboot.abc';
const DEVICE = 'pump-7';
const at = (s: number) => new Date(Date.UTC(2026, 1, 4, 10, 0, s)).toISOString();

const ack = (status: 'accepted' | 'rejected', s = 0, deviceId = DEVICE): DeviceMessage => ({
  kind: 'ack',
  deviceId,
  receivedAt: at(s),
  message: { v: 1, commandId: CMD, status, ...(status === 'rejected' ? { reason: 'busy' } : {}) },
});
const result = (status: 'succeeded' | 'failed', s = 0, deviceId = DEVICE): DeviceMessage => ({
  kind: 'result',
  deviceId,
  receivedAt: at(s),
  message: { v: 1, commandId: CMD, status, ...(status === 'succeeded' ? { output: { ok: true } } : { error: { code: 'e', message: 'broke' } }) },
});

const fresh = () => newLateAnswers({ commandId: CMD, deviceId: DEVICE, endedAs: 'TimedOut' });

describe('late answers record (pure)', () => {
  test('starts empty, with what the command ended as', () => {
    expect(fresh()).toEqual({ commandId: CMD, deviceId: DEVICE, endedAs: 'TimedOut', lateOutcome: 'none', answers: [], repeats: 0 });
  });

  test('an ack then a result: the result decides the late outcome, and its output is kept', () => {
    let r = addLateAnswer(fresh(), ack('accepted', 1));
    expect(r.lateOutcome).toBe('accepted');
    r = addLateAnswer(r, result('succeeded', 2));
    expect(r.lateOutcome).toBe('succeeded');
    expect(r.answers).toEqual([
      { kind: 'ack', status: 'accepted', receivedAt: at(1) },
      { kind: 'result', status: 'succeeded', receivedAt: at(2), output: { ok: true } },
    ]);
  });

  test('a result before its ack still decides; the first result stays the outcome', () => {
    let r = addLateAnswer(fresh(), result('failed', 1));
    r = addLateAnswer(r, ack('accepted', 2));
    r = addLateAnswer(r, result('succeeded', 3));
    expect(r.lateOutcome).toBe('failed');
    expect(r.answers.map((a) => `${a.kind}:${a.status}`)).toEqual(['result:failed', 'ack:accepted', 'result:succeeded']);
  });

  test('repeats are counted, not kept; another device is never taken', () => {
    let r = addLateAnswer(fresh(), result('succeeded', 1));
    r = addLateAnswer(r, result('succeeded', 2));
    r = addLateAnswer(r, result('failed', 3, 'mallory'));
    expect(r.answers).toHaveLength(1);
    expect(r.repeats).toBe(2);
    expect(r.lateOutcome).toBe('succeeded');
  });

  test('property: whatever arrives, at most MAX_LATE_ANSWERS_KEPT distinct answers, each kind/status once, every message counted', () => {
    const message = fc.oneof(
      fc.tuple(fc.constantFrom<'accepted' | 'rejected'>('accepted', 'rejected'), fc.nat(59), fc.constantFrom(DEVICE, 'other')).map(([s, t, d]) => ack(s, t, d)),
      fc
        .tuple(fc.constantFrom<'succeeded' | 'failed'>('succeeded', 'failed'), fc.nat(59), fc.constantFrom(DEVICE, 'other'))
        .map(([s, t, d]) => result(s, t, d)),
    );
    fc.assert(
      fc.property(fc.array(message, { maxLength: 60 }), (messages) => {
        const r = messages.reduce(addLateAnswer, fresh());
        const keys = r.answers.map((a) => `${a.kind}:${a.status}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(r.answers.length).toBeLessThanOrEqual(MAX_LATE_ANSWERS_KEPT);
        expect(r.answers.length + r.repeats).toBe(messages.length);
        expect(r.lateOutcome).toBe(lateOutcomeOf(r.answers));
        const firstResult = messages.find((m) => m.kind === 'result' && m.deviceId === DEVICE);
        if (firstResult) expect(r.lateOutcome).toBe(firstResult.message.status);
      }),
    );
  });
});
