import fc from 'fast-check';
import type { CommandSnapshot, DeviceMessage } from '../../protocol/command-contract';
import { ALLOWED_TRANSITIONS, COMMAND_STATES, isTerminal, TERMINAL_STATES, type CommandState } from '../../protocol/command-state';
import {
  applyDeviceMessage,
  endAfterPublishFailure,
  IllegalTransitionError,
  invalidRequestRecord,
  MAX_HISTORY_ENTRIES,
  newRecord,
  note,
  recordPublished,
  startAttempt,
  transition,
} from '../../workflows/command-record';

/** The workflow passes its own clock; here the message's receipt time stands in for it. */
const apply = (r: CommandSnapshot, m: DeviceMessage) => applyDeviceMessage(r, m, m.receivedAt);

const T0 = '2026-02-04T10:00:00.000Z';
const T1 = '2026-02-04T10:00:01.000Z';
const T2 = '2026-02-04T10:00:02.000Z';
const T3 = '2026-02-04T10:00:03.000Z';

const DEVICE = 'pump-7';
const CMD = 'pump-7.reboot.abc';

function created(): CommandSnapshot {
  return newRecord({ commandId: CMD, deviceId: DEVICE, name: 'reboot', params: { delayS: 5 }, expiresAt: '2026-02-04T10:10:00.000Z' }, T0);
}
/** Attempt 1 started and the broker acknowledged its publish. */
function sent(): CommandSnapshot {
  return recordPublished(startAttempt(created(), 1), T1);
}

function ack(status: 'accepted' | 'rejected', extra: { reason?: string; deviceId?: string; commandId?: string; at?: string } = {}): DeviceMessage {
  return {
    kind: 'ack',
    deviceId: extra.deviceId ?? DEVICE,
    receivedAt: extra.at ?? T2,
    message: { v: 1, commandId: extra.commandId ?? CMD, status, ...(extra.reason !== undefined ? { reason: extra.reason } : {}) },
  };
}
function res(
  status: 'succeeded' | 'failed' | 'cancelled',
  extra: { output?: Record<string, unknown>; error?: { code: string; message: string }; deviceId?: string; commandId?: string; at?: string } = {},
): DeviceMessage {
  return {
    kind: 'result',
    deviceId: extra.deviceId ?? DEVICE,
    receivedAt: extra.at ?? T3,
    message: {
      v: 1,
      commandId: extra.commandId ?? CMD,
      status,
      ...(extra.output ? { output: extra.output } : {}),
      ...(extra.error ? { error: extra.error } : {}),
    },
  };
}

const events = (r: CommandSnapshot) => r.history.map((h) => `${h.event}:${h.state}`);

describe('newRecord', () => {
  it('starts Created with one history entry and no attempts', () => {
    expect(created()).toEqual({
      commandId: CMD,
      deviceId: DEVICE,
      name: 'reboot',
      params: { delayS: 5 },
      expiresAt: '2026-02-04T10:10:00.000Z',
      state: 'Created',
      attempts: 0,
      createdAt: T0,
      history: [{ at: T0, event: 'created', state: 'Created', attempt: 0 }],
      historyDropped: 0,
    });
  });
});

describe('startAttempt', () => {
  it('sets the attempt number and records nothing else', () => {
    const before = created();
    const r = startAttempt(before, 3);
    expect(r).toEqual({ ...before, attempts: 3 });
    expect(before.attempts).toBe(0);
  });
});

describe('recordPublished', () => {
  it('moves Created to Sent, recording the current attempt', () => {
    const r = sent();
    expect(r.state).toBe('Sent');
    expect(r.attempts).toBe(1);
    expect(r.history).toHaveLength(2);
    expect(r.history[1]).toEqual({ at: T1, event: 'published', state: 'Sent', attempt: 1 });
  });

  it('a re-publish is Sent -> Sent with the next attempt', () => {
    const r = recordPublished(startAttempt(sent(), 2), T2);
    expect(r.state).toBe('Sent');
    expect(r.attempts).toBe(2);
    expect(events(r)).toEqual(['created:Created', 'published:Sent', 'published:Sent']);
    expect(r.history[2]).toEqual({ at: T2, event: 'published', state: 'Sent', attempt: 2 });
  });

  it('after the ack it is a note, not a transition', () => {
    const acked = apply(sent(), ack('accepted'));
    const r = recordPublished(startAttempt(acked, 2), T3);
    expect(r.state).toBe('Acknowledged');
    expect(r.attempts).toBe(2);
    expect(r.history.at(-1)).toEqual({ at: T3, event: 'published', state: 'Acknowledged', attempt: 2 });
    expect({ ...r, history: acked.history }).toEqual({ ...acked, attempts: 2 });
  });

  it('a PUBACK that arrives after the device already answered is a note, even in a terminal state', () => {
    const started = startAttempt(created(), 1);
    const done = apply(started, res('succeeded', { at: T1 }));
    const r = recordPublished(done, T2);
    expect(r.state).toBe('Succeeded');
    expect(r.history.at(-1)).toEqual({ at: T2, event: 'published', state: 'Succeeded', attempt: 1 });
    expect({ ...r, history: done.history }).toEqual(done);
  });
});

describe('applyDeviceMessage: acks', () => {
  it('ack accepted: Sent -> Acknowledged', () => {
    const r = apply(sent(), ack('accepted'));
    expect(r.state).toBe('Acknowledged');
    expect(r.reason).toBeUndefined();
    expect(r.history.at(-1)).toEqual({ at: T2, event: 'ack-accepted', state: 'Acknowledged', attempt: 1 });
  });

  it('ack accepted before the PUBACK: Created -> Sent (confirmed by the ack) -> Acknowledged', () => {
    const r = apply(startAttempt(created(), 1), ack('accepted'));
    expect(r.state).toBe('Acknowledged');
    expect(r.history.slice(1)).toEqual([
      { at: T2, event: 'sent-confirmed-by-ack', state: 'Sent', attempt: 1 },
      { at: T2, event: 'ack-accepted', state: 'Acknowledged', attempt: 1 },
    ]);
  });

  it('ack rejected before the PUBACK: Created -> Sent -> Rejected', () => {
    const r = apply(startAttempt(created(), 1), ack('rejected', { reason: 'busy' }));
    expect(events(r)).toEqual(['created:Created', 'sent-confirmed-by-ack:Sent', 'ack-rejected:Rejected']);
    expect(r.reason).toBe('busy');
  });

  it('ack rejected with a reason: Rejected with that reason', () => {
    const r = apply(sent(), ack('rejected', { reason: 'busy' }));
    expect(r.state).toBe('Rejected');
    expect(r.reason).toBe('busy');
    expect(r.history.at(-1)).toEqual({ at: T2, event: 'ack-rejected', state: 'Rejected', attempt: 1, reason: 'busy' });
  });

  it('ack rejected without a reason: Rejected, "rejected by device"', () => {
    const r = apply(sent(), ack('rejected'));
    expect(r.state).toBe('Rejected');
    expect(r.reason).toBe('rejected by device');
  });

  it('ack rejected with reason "expired": Expired', () => {
    const r = apply(sent(), ack('rejected', { reason: 'expired' }));
    expect(r.state).toBe('Expired');
    expect(r.reason).toBe('expired');
    expect(r.history.at(-1)?.event).toBe('ack-rejected');
  });

  it('only the exact reason "expired" means Expired', () => {
    expect(apply(sent(), ack('rejected', { reason: 'Expired' })).state).toBe('Rejected');
    expect(apply(sent(), ack('rejected', { reason: 'expired: too late' })).state).toBe('Rejected');
  });

  it('ack accepted twice: the second is noted as duplicate-ack and changes nothing else', () => {
    const once = apply(sent(), ack('accepted'));
    const twice = apply(once, ack('accepted', { at: T3 }));
    expect(twice.state).toBe('Acknowledged');
    expect(twice.history).toHaveLength(once.history.length + 1);
    expect(twice.history.at(-1)).toEqual({ at: T3, event: 'duplicate-ack', state: 'Acknowledged', attempt: 1, reason: 'ack accepted' });
    expect({ ...twice, history: once.history }).toEqual(once);
  });

  it('a rejecting ack after an accepting one is a duplicate too: the first ack wins', () => {
    const once = apply(sent(), ack('accepted'));
    const r = apply(once, ack('rejected', { reason: 'busy', at: T3 }));
    expect(r.state).toBe('Acknowledged');
    expect(r.history.at(-1)).toEqual({ at: T3, event: 'duplicate-ack', state: 'Acknowledged', attempt: 1, reason: 'ack rejected' });
  });
});

describe('applyDeviceMessage: a cancelled result (the device confirms a cancel)', () => {
  it('after the ack: Acknowledged -> Cancelled, with why', () => {
    const r = apply(apply(sent(), ack('accepted')), res('cancelled'));
    expect(r.state).toBe('Cancelled');
    expect(r.reason).toMatch(/the device confirmed the cancel/);
    expect(events(r).at(-1)).toBe('cancel-confirmed:Cancelled');
  });

  it('without an ack: Sent -> Cancelled, no ack implied (the device never ran it)', () => {
    const r = apply(sent(), res('cancelled'));
    expect(events(r)).toEqual(['created:Created', 'published:Sent', 'cancel-confirmed:Cancelled']);
  });

  it('after a terminal state it is a late note and changes nothing', () => {
    const done = apply(sent(), res('succeeded'));
    const r = apply(done, res('cancelled'));
    expect(r.state).toBe('Succeeded');
    expect(events(r).at(-1)).toBe('late-result:Succeeded');
  });
});

describe('applyDeviceMessage: results', () => {
  it('result succeeded after the ack: Succeeded with the output', () => {
    const acked = apply(sent(), ack('accepted'));
    const r = apply(acked, res('succeeded', { output: { uptimeS: 1 } }));
    expect(r.state).toBe('Succeeded');
    expect(r.output).toEqual({ uptimeS: 1 });
    expect(r.error).toBeUndefined();
    expect(events(r)).toEqual(['created:Created', 'published:Sent', 'ack-accepted:Acknowledged', 'result-succeeded:Succeeded']);
  });

  it('result succeeded without output leaves output unset', () => {
    const r = apply(sent(), res('succeeded'));
    expect(r.state).toBe('Succeeded');
    expect('output' in r).toBe(false);
  });

  it('result without an ack counts as both: Sent -> Acknowledged -> Succeeded', () => {
    const r = apply(sent(), res('succeeded', { output: { ok: true } }));
    expect(r.state).toBe('Succeeded');
    expect(r.output).toEqual({ ok: true });
    expect(r.history.slice(2)).toEqual([
      { at: T3, event: 'ack-implied-by-result', state: 'Acknowledged', attempt: 1 },
      { at: T3, event: 'result-succeeded', state: 'Succeeded', attempt: 1 },
    ]);
  });

  it('result before the PUBACK and without an ack: Created -> Sent -> Acknowledged -> Failed', () => {
    const r = apply(startAttempt(created(), 1), res('failed', { error: { code: 'E_IO', message: 'disk full' } }));
    expect(events(r)).toEqual(['created:Created', 'sent-confirmed-by-result:Sent', 'ack-implied-by-result:Acknowledged', 'result-failed:Failed']);
    expect(r.state).toBe('Failed');
  });

  it('result failed with an error: Failed, error and reason from it, output kept', () => {
    const acked = apply(sent(), ack('accepted'));
    const r = apply(acked, res('failed', { error: { code: 'E_IO', message: 'disk full' }, output: { written: 3 } }));
    expect(r.state).toBe('Failed');
    expect(r.error).toEqual({ code: 'E_IO', message: 'disk full' });
    expect(r.reason).toBe('E_IO: disk full');
    expect(r.output).toEqual({ written: 3 });
    expect(r.history.at(-1)).toEqual({ at: T3, event: 'result-failed', state: 'Failed', attempt: 1, reason: 'E_IO: disk full' });
  });

  it('result failed without an error: Failed with an "unknown" error', () => {
    const r = apply(sent(), res('failed'));
    expect(r.state).toBe('Failed');
    expect(r.error).toEqual({ code: 'unknown', message: 'device reported failure without details' });
    expect(r.reason).toBe('unknown: device reported failure without details');
    expect('output' in r).toBe(false);
  });
});

describe('applyDeviceMessage: messages that change nothing', () => {
  const terminalRecords: [string, () => CommandSnapshot][] = [
    ['Succeeded', () => apply(sent(), res('succeeded', { output: { a: 1 } }))],
    ['Failed', () => apply(sent(), res('failed', { error: { code: 'E', message: 'm' } }))],
    ['Rejected', () => apply(sent(), ack('rejected', { reason: 'busy' }))],
    ['Expired', () => apply(sent(), ack('rejected', { reason: 'expired' }))],
    ['TimedOut', () => transition(sent(), 'TimedOut', T2, 'ack-timeout', 'no ack after 1 attempt(s)')],
    ['Cancelled', () => transition(sent(), 'Cancelled', T2, 'cancelled', 'cancelled by the caller')],
  ];
  const lateMessages: [string, DeviceMessage][] = [
    ['ack accepted', ack('accepted', { at: T3 })],
    ['ack rejected', ack('rejected', { reason: 'expired', at: T3 })],
    ['result succeeded', res('succeeded', { output: { b: 2 }, at: T3 })],
    ['result failed', res('failed', { error: { code: 'X', message: 'y' }, at: T3 })],
  ];

  describe.each(terminalRecords)('after %s', (state, make) => {
    it.each(lateMessages)('a late %s is noted and changes nothing else', (_label, m) => {
      const before = make();
      expect(before.state).toBe(state);
      const after = apply(before, m);
      expect(after.history).toHaveLength(before.history.length + 1);
      expect(after.history.at(-1)).toEqual({
        at: T3,
        event: `late-${m.kind}`,
        state,
        attempt: 1,
        reason: `${m.kind} ${m.message.status} after ${state}`,
      });
      expect({ ...after, history: before.history }).toEqual(before);
    });
  });

  it('a message on the topic of another device is noted and ignored, even with the right commandId', () => {
    const before = sent();
    const r = apply(before, res('succeeded', { deviceId: 'pump-8' }));
    expect(r.state).toBe('Sent');
    expect(r.output).toBeUndefined();
    expect(r.history.at(-1)).toEqual({
      at: T3,
      event: 'ignored-result',
      state: 'Sent',
      attempt: 1,
      reason: 'sent on the topic of device pump-8, not pump-7',
    });
    expect({ ...r, history: before.history }).toEqual(before);
  });

  it('an ack from another device does not acknowledge', () => {
    const r = apply(sent(), ack('accepted', { deviceId: 'pump-8' }));
    expect(r.state).toBe('Sent');
    expect(r.history.at(-1)?.event).toBe('ignored-ack');
  });

  it('a message for another commandId is noted and ignored', () => {
    const before = apply(sent(), ack('accepted'));
    const r = apply(before, res('failed', { commandId: 'pump-7.reboot.other' }));
    expect(r.state).toBe('Acknowledged');
    expect(r.error).toBeUndefined();
    expect(r.history.at(-1)).toEqual({ at: T3, event: 'ignored-result', state: 'Acknowledged', attempt: 1, reason: 'for command pump-7.reboot.other' });
    expect({ ...r, history: before.history }).toEqual(before);
  });

  it('the wrong device is checked before the terminal state (noted as ignored, not late)', () => {
    const done = apply(sent(), res('succeeded'));
    expect(apply(done, ack('accepted', { deviceId: 'other' })).history.at(-1)?.event).toBe('ignored-ack');
    expect(apply(done, ack('accepted', { commandId: 'other' })).history.at(-1)?.event).toBe('ignored-ack');
  });

  it('does not mutate its input', () => {
    const before = sent();
    const copy = structuredClone(before);
    apply(before, res('succeeded', { output: { a: 1 } }));
    apply(before, ack('accepted', { deviceId: 'x' }));
    expect(before).toEqual(copy);
  });
});

describe('transition', () => {
  it('records the reason on the record and in the history', () => {
    const r = transition(sent(), 'TimedOut', T2, 'result-timeout', 'no result within 60000 ms of the ack');
    expect(r.state).toBe('TimedOut');
    expect(r.reason).toBe('no result within 60000 ms of the ack');
    expect(r.history.at(-1)).toEqual({ at: T2, event: 'result-timeout', state: 'TimedOut', attempt: 1, reason: 'no result within 60000 ms of the ack' });
  });

  it('allows exactly ALLOWED_TRANSITIONS and throws IllegalTransitionError otherwise', () => {
    for (const from of COMMAND_STATES) {
      for (const to of COMMAND_STATES) {
        const record: CommandSnapshot = { ...sent(), state: from };
        if (ALLOWED_TRANSITIONS[from].includes(to)) {
          expect(transition(record, to, T2, 'x').state).toBe(to);
        } else {
          let thrown: unknown;
          try {
            transition(record, to, T2, 'x');
          } catch (err) {
            thrown = err;
          }
          expect(thrown).toBeInstanceOf(IllegalTransitionError);
          expect((thrown as Error).name).toBe('IllegalTransitionError');
          expect((thrown as Error).message).toBe(`illegal command transition ${from} -> ${to}`);
        }
      }
    }
  });

  it('terminal states have no way out, and Acknowledged cannot go back to Sent or be Rejected/Expired', () => {
    for (const s of TERMINAL_STATES) expect(ALLOWED_TRANSITIONS[s]).toEqual([]);
    expect(() => transition(apply(sent(), ack('accepted')), 'Sent', T3, 'x')).toThrow(IllegalTransitionError);
    expect(() => transition(apply(sent(), ack('accepted')), 'Rejected', T3, 'x')).toThrow(IllegalTransitionError);
    expect(() => transition(apply(sent(), ack('accepted')), 'Expired', T3, 'x')).toThrow(IllegalTransitionError);
  });

  it('note keeps the state', () => {
    const r = note(sent(), T2, 'ack-timeout', 'no ack for attempt 1');
    expect(r.state).toBe('Sent');
    expect(r.reason).toBeUndefined();
    expect(r.history.at(-1)).toEqual({ at: T2, event: 'ack-timeout', state: 'Sent', attempt: 1, reason: 'no ack for attempt 1' });
  });
});

describe('history cap', () => {
  it(`keeps at most ${MAX_HISTORY_ENTRIES} entries: the first and the newest; counts the dropped ones`, () => {
    expect(MAX_HISTORY_ENTRIES).toBe(200);
    let r = apply(sent(), ack('accepted'));
    // 3 entries so far (created, published, ack-accepted); add 300 duplicates.
    for (let i = 0; i < 300; i++) {
      r = apply(r, ack('accepted', { at: new Date(Date.parse(T3) + i).toISOString() }));
    }
    expect(r.history).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(r.historyDropped).toBe(303 - MAX_HISTORY_ENTRIES);
    expect(r.history[0]).toEqual({ at: T0, event: 'created', state: 'Created', attempt: 0 });
    // The newest 199 duplicates remain, in order.
    expect(r.history[1].at).toBe(new Date(Date.parse(T3) + 101).toISOString());
    expect(r.history.at(-1)?.at).toBe(new Date(Date.parse(T3) + 299).toISOString());
    expect(r.history.slice(1).every((h) => h.event === 'duplicate-ack')).toBe(true);
    expect(r.state).toBe('Acknowledged');
  });

  it('does not drop anything up to the cap', () => {
    let r = created();
    for (let i = 0; i < MAX_HISTORY_ENTRIES - 1; i++) r = note(r, T1, `n${i}`);
    expect(r.history).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(r.historyDropped).toBe(0);
    r = note(r, T1, 'one-more');
    expect(r.history).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(r.historyDropped).toBe(1);
    expect(r.history[1].event).toBe('n1');
    expect(r.history.at(-1)?.event).toBe('one-more');
  });

  it('a terminal transition after the cap is still recorded and the state is right', () => {
    let r = apply(sent(), ack('accepted'));
    for (let i = 0; i < 250; i++) r = apply(r, ack('accepted'));
    r = apply(r, res('succeeded'));
    expect(r.state).toBe('Succeeded');
    expect(r.history.at(-1)?.event).toBe('result-succeeded');
    expect(r.history).toHaveLength(MAX_HISTORY_ENTRIES);
  });
});

describe('property: any sequence of device messages', () => {
  const deviceIdArb = fc.constantFrom(DEVICE, 'pump-8');
  const commandIdArb = fc.constantFrom(CMD, 'pump-7.reboot.other');
  const reasonArb = fc.option(fc.constantFrom('expired', 'busy', ''), { nil: undefined });
  const messageArb: fc.Arbitrary<DeviceMessage> = fc.oneof(
    fc
      .record({ deviceId: deviceIdArb, commandId: commandIdArb, status: fc.constantFrom('accepted' as const, 'rejected' as const), reason: reasonArb })
      .map(({ deviceId, commandId, status, reason }) => ack(status, { deviceId, commandId, reason })),
    fc
      .record({
        deviceId: deviceIdArb,
        commandId: commandIdArb,
        status: fc.constantFrom('succeeded' as const, 'failed' as const),
        withOutput: fc.boolean(),
        withError: fc.boolean(),
      })
      .map(({ deviceId, commandId, status, withOutput, withError }) =>
        res(status, {
          deviceId,
          commandId,
          ...(withOutput ? { output: { n: 1 } } : {}),
          ...(withError ? { error: { code: 'E', message: 'm' } } : {}),
        }),
      ),
  );
  /**
   * A step is a device message or what the workflow does: start the next attempt (only while
   * waiting for the ack) or record a PUBACK (at any time: the device may have answered first).
   */
  const stepArb = fc.oneof({ arbitrary: messageArb, weight: 4 }, { arbitrary: fc.constantFrom('start' as const, 'puback' as const), weight: 2 });

  it('once terminal, the state never changes; every state change is an allowed transition', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(stepArb, { maxLength: 40 }), (startSent, steps) => {
        let r = startSent ? sent() : startAttempt(created(), 1);
        let attempt = r.attempts;
        let terminalState: CommandState | undefined;
        let terminalSnapshot: CommandSnapshot | undefined;
        for (const step of steps) {
          const before = r;
          if (step === 'start') {
            if (r.state !== 'Created' && r.state !== 'Sent') continue;
            r = startAttempt(r, ++attempt);
            expect({ ...r, attempts: before.attempts }).toEqual(before);
            continue;
          }
          if (step === 'puback') {
            r = recordPublished(r, T2);
          } else {
            r = apply(r, step);
            const foreign = step.deviceId !== DEVICE || step.message.commandId !== CMD;
            if (foreign) expect(r.state).toBe(before.state);
          }
          if (r.state !== before.state) expect(ALLOWED_TRANSITIONS[before.state]).toContain(r.state);
          if (terminalState) {
            expect(r.state).toBe(terminalState);
            // Nothing but the history changes after the end.
            expect({ ...r, history: terminalSnapshot!.history, historyDropped: terminalSnapshot!.historyDropped }).toEqual(terminalSnapshot);
          } else if (isTerminal(r.state)) {
            terminalState = r.state;
            terminalSnapshot = r;
          }
          // Each message or publish adds at least one history entry.
          expect(r.history.length + r.historyDropped).toBeGreaterThan(before.history.length + before.historyDropped);
        }
        // The history itself only follows allowed transitions.
        for (let i = 1; i < r.history.length; i++) {
          const [prev, cur] = [r.history[i - 1].state, r.history[i].state];
          if (prev !== cur) expect(ALLOWED_TRANSITIONS[prev]).toContain(cur);
          if (isTerminal(prev)) expect(cur).toBe(prev);
        }
        expect(r.history.at(-1)?.state).toBe(r.state);
      }),
      { numRuns: 1000 },
    );
  });

  it('the outcome is decided by the first relevant message for this device and command', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 20 }), (messages) => {
        const final = messages.reduce(apply, sent());
        const relevant = messages.filter((m) => m.deviceId === DEVICE && m.message.commandId === CMD);
        const first = relevant[0];
        if (!first) {
          expect(final.state).toBe('Sent');
          return;
        }
        if (first.kind === 'result') {
          expect(final.state).toBe(first.message.status === 'succeeded' ? 'Succeeded' : 'Failed');
        } else if (first.message.status === 'rejected') {
          expect(final.state).toBe(first.message.reason === 'expired' ? 'Expired' : 'Rejected');
        } else {
          const firstResult = relevant.find((m) => m.kind === 'result');
          const expected = firstResult ? (firstResult.message.status === 'succeeded' ? 'Succeeded' : 'Failed') : 'Acknowledged';
          expect(final.state).toBe(expected);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('a publish that failed for good ends in a command state', () => {
  const fresh = () => newRecord({ commandId: CMD, deviceId: DEVICE, name: 'reboot', params: {}, expiresAt: T3 }, T0);
  const sent = () => recordPublished(startAttempt(fresh(), 1), T1);
  const refused = { type: 'PublishRefused', message: 'refused by the broker: Not authorized (PUBACK reason code 0x87)', expired: false };

  it('refused before anything reached the broker: Rejected with the reason (not executed)', () => {
    const r = endAfterPublishFailure(startAttempt(fresh(), 1), refused, T2);
    expect(r.state).toBe('Rejected');
    expect(r.reason).toBe(refused.message);
    expect(r.history.at(-1)).toMatchObject({ event: 'publish-refused', state: 'Rejected' });
  });

  it('refused after an earlier attempt reached the broker: TimedOut (the device may have it)', () => {
    const r = endAfterPublishFailure(sent(), refused, T2);
    expect(r.state).toBe('TimedOut');
    expect(r.reason).toContain('the device may still execute it');
  });

  it('expired at publish (the activity says so, or our clock does): Expired', () => {
    expect(endAfterPublishFailure(fresh(), { type: 'CommandExpired', message: 'command x expired at y', expired: false }, T2).state).toBe('Expired');
    expect(endAfterPublishFailure(sent(), { message: 'timeout', expired: true }, T2).state).toBe('Expired');
  });

  it('an unknown failure: TimedOut with its message', () => {
    const r = endAfterPublishFailure(fresh(), { type: 'Other', message: 'boom', expired: false }, T2);
    expect(r.state).toBe('TimedOut');
    expect(r.reason).toMatch(/^boom; /);
  });
});

describe('invalidRequestRecord', () => {
  it('is Rejected at once with the reason, nothing published, usable fields kept', () => {
    const r = invalidRequestRecord(
      { commandId: 'c1', deviceId: 'a+b', name: 'ping', params: { deep: {} }, expiresAt: 'soon' },
      'invalid request: deviceId ...',
      T0,
      'fallback',
    );
    expect(r).toMatchObject({
      commandId: 'c1',
      deviceId: 'a+b',
      name: 'ping',
      params: {},
      expiresAt: 'soon',
      state: 'Rejected',
      attempts: 0,
      reason: 'invalid request: deviceId ...',
    });
    expect(r.history.map((e) => e.event)).toEqual(['created', 'invalid-request']);
  });

  it('survives input that is not an object', () => {
    for (const input of [null, 'x', 42, [1], undefined]) {
      const r = invalidRequestRecord(input, 'invalid request: the input must be one JSON object', T0, 'from-workflow-id');
      expect(r).toMatchObject({ commandId: 'from-workflow-id', deviceId: '', name: '', state: 'Rejected' });
    }
  });
});
