import fc from 'fast-check';
import {
  CANCELLED_BEFORE_RECEIPT,
  decideCancel,
  decideNewCommand,
  decideRepeat,
  INTERRUPTED_MESSAGE,
  resultIsQuick,
  type KnownCommand,
} from '../../device/command-decisions';
import type { CommandMessage } from '../../protocol/messages';

const NOW = Date.UTC(2026, 1, 4, 10, 0, 0);
const command = (expiresInMs: number): CommandMessage => ({
  v: 1,
  commandId: 'c-1',
  name: 'reboot',
  params: {},
  attempt: 1,
  issuedAt: new Date(NOW - 1000).toISOString(),
  expiresAt: new Date(NOW + expiresInMs).toISOString(),
});
const accepted = { v: 1 as const, commandId: 'c-1', status: 'accepted' as const };
const rejected = { v: 1 as const, commandId: 'c-1', status: 'rejected' as const, reason: 'busy' };
const done = { v: 1 as const, commandId: 'c-1', status: 'succeeded' as const, output: { ok: true } };

describe('device-side decisions (shared by the reference agent and the simulator)', () => {
  test('a new command in time is accepted and run', () => {
    expect(decideNewCommand(command(60_000), NOW, () => undefined)).toEqual({ ack: accepted, execute: true });
  });

  test('at or after expiresAt: rejected with reason exactly `expired`, whatever the device would say', () => {
    for (const left of [0, -1, -60_000]) {
      expect(decideNewCommand(command(left), NOW, () => 'busy')).toEqual({ ack: { ...accepted, status: 'rejected', reason: 'expired' }, execute: false });
    }
  });

  test("the device's own reason rejects it, and it is not run", () => {
    expect(decideNewCommand(command(60_000), NOW, () => 'busy')).toEqual({ ack: rejected, execute: false });
  });

  test('repeats: the stored result, never a new one; the ack only while running or after a rejection', () => {
    expect(decideRepeat('c-1', { ack: accepted, result: done, executions: 1 }, false)).toEqual({ kind: 'resend-result', result: done });
    expect(decideRepeat('c-1', { ack: accepted, result: done, executions: 1 }, true)).toEqual({ kind: 'resend-result', result: done });
    expect(decideRepeat('c-1', { ack: accepted, executions: 1 }, true)).toEqual({ kind: 'ack-only' });
    expect(decideRepeat('c-1', { ack: rejected, executions: 0 }, false)).toEqual({ kind: 'ack-only' });
  });

  test('accepted, not running, no result: run it if it never started, else report `interrupted`', () => {
    expect(decideRepeat('c-1', { ack: accepted, executions: 0 }, false)).toEqual({ kind: 'run-now' });
    expect(decideRepeat('c-1', { ack: accepted, executions: 1 }, false)).toEqual({
      kind: 'report-interrupted',
      result: { v: 1, commandId: 'c-1', status: 'failed', error: { code: 'interrupted', message: INTERRUPTED_MESSAGE } },
    });
  });

  test('property: a repeat never runs a command that started, and never replaces a result', () => {
    const known = fc.record({
      ack: fc.constantFrom(accepted, rejected),
      result: fc.option(fc.constant(done), { nil: undefined }),
      executions: fc.nat(3),
    });
    fc.assert(
      fc.property(known, fc.boolean(), (k, running) => {
        const entry = (k.result ? k : { ack: k.ack, executions: k.executions }) as KnownCommand;
        const d = decideRepeat('c-1', entry, running);
        if (d.kind === 'run-now') expect(entry.executions === 0 && !running && entry.ack.status === 'accepted' && !entry.result).toBe(true);
        if (entry.result) expect(d).toEqual({ kind: 'resend-result', result: entry.result });
        if (d.kind === 'report-interrupted') expect(running).toBe(false);
      }),
    );
  });
});

describe('resultIsQuick (rule 5: the result alone answers a command finished at once)', () => {
  test('within the window the ack is skipped; beyond it, or with the window off, the ack goes first', () => {
    expect(resultIsQuick(0, 100)).toBe(true);
    expect(resultIsQuick(100, 100)).toBe(true);
    expect(resultIsQuick(101, 100)).toBe(false);
    expect(resultIsQuick(0, 0)).toBe(false);
  });
});

describe('a cancel request, decided from the journal (docs/protocol.md, "cancel")', () => {
  const cancelled = { v: 1 as const, commandId: 'c-1', status: 'cancelled' as const };
  const known = (k: Partial<KnownCommand>): KnownCommand => ({ ack: accepted, executions: 0, ...k });

  test('never received: journal a rejection (reason `cancelled`) so a late copy never runs, and confirm', () => {
    expect(decideCancel('c-1', undefined, false)).toEqual({
      kind: 'cancel-unseen',
      ack: { ...accepted, status: 'rejected', reason: CANCELLED_BEFORE_RECEIPT },
      result: cancelled,
    });
  });

  test('accepted but never started: confirm', () => {
    expect(decideCancel('c-1', known({}), false)).toEqual({ kind: 'cancel-unstarted', result: cancelled });
  });

  test('running: stop it if the handler can, and re-send the ack meanwhile', () => {
    expect(decideCancel('c-1', known({ executions: 1 }), true)).toEqual({ kind: 'stop-running', ack: accepted });
  });

  test('finished: too late, the stored result is the answer (never `cancelled`)', () => {
    expect(decideCancel('c-1', known({ executions: 1, result: done }), false)).toEqual({ kind: 'resend-result', result: done });
    // Even while a repeat is being answered.
    expect(decideCancel('c-1', known({ executions: 1, result: done }), true)).toEqual({ kind: 'resend-result', result: done });
  });

  test('rejected: the stored ack is the answer', () => {
    expect(decideCancel('c-1', known({ ack: rejected }), false)).toEqual({ kind: 'resend-ack', ack: rejected });
  });

  test('started before a restart, no result: its effect is unknown, so interrupted, not cancelled', () => {
    const d = decideCancel('c-1', known({ executions: 1 }), false);
    expect(d).toEqual({
      kind: 'report-interrupted',
      result: { v: 1, commandId: 'c-1', status: 'failed', error: { code: 'interrupted', message: INTERRUPTED_MESSAGE } },
    });
  });

  test('property: the answer is `cancelled` only when the command never ran to a result and is not running un-stoppably', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.nat(3), fc.boolean(), fc.boolean(), (seen, acceptedAck, executions, hasResult, running) => {
        const k = seen ? known({ ack: acceptedAck ? accepted : rejected, executions, ...(hasResult ? { result: done } : {}) }) : undefined;
        const d = decideCancel('c-1', k, running);
        const says = 'result' in d ? d.result.status : undefined;
        if (says === 'cancelled') {
          // Confirmed only if nothing was ever executed to completion or is running now.
          expect(k?.result).toBeUndefined();
          expect(running && k !== undefined).toBe(false);
          expect(k === undefined || (k.ack.status === 'accepted' && k.executions === 0)).toBe(true);
        }
        if (k?.result) expect(d).toEqual({ kind: 'resend-result', result: k.result });
      }),
    );
  });
});
