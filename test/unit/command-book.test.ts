import fc from 'fast-check';
import { CommandBook, type JournalRecord } from '../../device/command-book';
import { INTERRUPTED_MESSAGE } from '../../device/command-decisions';
import { MAX_TTL_MS } from '../../protocol/command-limits';
import type { CommandMessage, ResultMessage } from '../../protocol/messages';

/**
 * The device-side protocol core that the reference agent and the fleet simulator both drive:
 * each step journals before it says what to send or run, and the journal alone rebuilds it.
 */

const NOW = Date.UTC(2026, 1, 4, 10, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const command = (commandId = 'c-1', expiresInMs = 60_000): CommandMessage => ({
  v: 1,
  commandId,
  name: 'reboot',
  params: {},
  attempt: 1,
  issuedAt: iso(NOW - 1000),
  expiresAt: iso(NOW + expiresInMs),
});
const accepted = (commandId = 'c-1') => ({ v: 1 as const, commandId, status: 'accepted' as const });
const done = (commandId = 'c-1'): ResultMessage => ({ v: 1, commandId, status: 'succeeded', output: { ok: true } });
const interrupted: ResultMessage = { v: 1, commandId: 'c-1', status: 'failed', error: { code: 'interrupted', message: INTERRUPTED_MESSAGE } };
const cancelled: ResultMessage = { v: 1, commandId: 'c-1', status: 'cancelled' };
const accept = () => undefined;

/** A book whose records land in `written`, as they would in the journal file. */
function book(records: JournalRecord[] = []) {
  const written: JournalRecord[] = [];
  return { book: new CommandBook(records, (r) => written.push(r)), written };
}

describe('a new command', () => {
  test('accepted: journaled (with its expiry) before anything is sent, and counted as running', () => {
    const { book: b, written } = book();
    expect(b.receive(command(), NOW, accept)).toEqual({ kind: 'new', ack: accepted(), execute: true });
    expect(written).toEqual([{ type: 'ack', commandId: 'c-1', name: 'reboot', at: iso(NOW), expiresAt: iso(NOW + 60_000), ack: accepted() }]);
    expect(b.isRunning('c-1')).toBe(true);
    expect(b.get('c-1')).toMatchObject({ executions: 0, resultDelivered: false, expiresAtMs: NOW + 60_000 });
  });

  test('expired or refused by the device: journaled as rejected, not run', () => {
    const { book: b } = book();
    expect(b.receive(command('old', 0), NOW, accept)).toEqual({
      kind: 'new',
      ack: { ...accepted('old'), status: 'rejected', reason: 'expired' },
      execute: false,
    });
    expect(b.receive(command('busy'), NOW, () => 'busy')).toEqual({
      kind: 'new',
      ack: { ...accepted('busy'), status: 'rejected', reason: 'busy' },
      execute: false,
    });
    expect([b.isRunning('old'), b.isRunning('busy')]).toEqual([false, false]);
  });

  test('run to its end: executing, then the result, then delivered once', () => {
    const { book: b, written } = book();
    b.receive(command(), NOW, accept);
    expect(b.started('c-1', NOW + 1)).toBe(1);
    expect(b.finished('c-1', done(), NOW + 2)).toEqual(done());
    b.delivered('c-1', NOW + 3);
    b.delivered('c-1', NOW + 4);
    expect(written.map((r) => r.type)).toEqual(['ack', 'executing', 'result', 'delivered']);
    expect(b.isRunning('c-1')).toBe(false);
    expect(b.undelivered()).toEqual([]);
  });

  test('the first result stands: a later one is neither journaled nor returned', () => {
    const { book: b, written } = book();
    b.receive(command(), NOW, accept);
    b.started('c-1', NOW);
    b.finished('c-1', done(), NOW);
    expect(b.finished('c-1', cancelled, NOW)).toEqual(done());
    expect(written.filter((r) => r.type === 'result')).toHaveLength(1);
  });
});

describe('a repeat', () => {
  test('gets the stored ack first; then the stored result, nothing while it runs, nothing after a rejection', () => {
    const { book: b } = book();
    b.receive(command(), NOW, accept);
    expect(b.receive(command(), NOW, () => 'would reject now')).toEqual({ kind: 'repeat', ack: accepted() });
    expect(b.repeat('c-1', NOW)).toBeUndefined(); // running: its result follows
    b.started('c-1', NOW);
    b.finished('c-1', done(), NOW);
    expect(b.repeat('c-1', NOW)).toEqual({ kind: 'send-result', result: done() });

    b.receive(command('r'), NOW, () => 'busy');
    expect(b.repeat('r', NOW)).toBeUndefined();
  });

  test('after a restart: accepted but never started runs now, once; started without a result is reported `interrupted`, never run', () => {
    const first = book();
    first.book.receive(command('never-started'), NOW, accept);
    first.book.receive(command(), NOW, accept);
    first.book.started('c-1', NOW);
    const { book: b, written } = book(first.written); // the process died; the journal is all that is left
    expect([b.isRunning('never-started'), b.isRunning('c-1')]).toEqual([false, false]);

    expect(b.repeat('never-started', NOW)).toEqual({ kind: 'execute' });
    expect(b.isRunning('never-started')).toBe(true);
    expect(b.repeat('never-started', NOW)).toBeUndefined(); // a second repeat meanwhile: not run again

    expect(b.repeat('c-1', NOW + 5)).toEqual({ kind: 'send-result', result: interrupted });
    expect(written).toEqual([{ type: 'result', commandId: 'c-1', at: iso(NOW + 5), result: interrupted }]);
  });

  test('halt() (a simulated power cut) has the same effect as a restart', () => {
    const { book: b } = book();
    b.receive(command(), NOW, accept);
    b.started('c-1', NOW);
    b.halt();
    expect(b.repeat('c-1', NOW)).toEqual({ kind: 'send-result', result: interrupted });
  });
});

describe('a cancel request', () => {
  test('never seen: journaled as rejected `cancelled`, kept for the longest TTL, and a late copy is answered, never run', () => {
    const { book: b, written } = book();
    expect(b.cancel('c-1', NOW)).toEqual({ decision: 'cancel-unseen', action: { kind: 'send-result', result: cancelled } });
    const rejected = { ...accepted(), status: 'rejected', reason: 'cancelled' };
    expect(written).toEqual([
      { type: 'ack', commandId: 'c-1', name: '', at: iso(NOW), expiresAt: iso(NOW + MAX_TTL_MS), ack: rejected },
      { type: 'result', commandId: 'c-1', at: iso(NOW), result: cancelled },
    ]);
    expect(b.receive(command(), NOW, accept)).toEqual({ kind: 'repeat', ack: rejected });
    expect(b.repeat('c-1', NOW)).toEqual({ kind: 'send-result', result: cancelled });
  });

  test('running: stop it (the ack goes meanwhile); its end is reported with finished()', () => {
    const { book: b } = book();
    b.receive(command(), NOW, accept);
    b.started('c-1', NOW);
    expect(b.cancel('c-1', NOW)).toEqual({ decision: 'stop-running', action: { kind: 'stop', ack: accepted() } });
    expect(b.finished('c-1', cancelled, NOW)).toEqual(cancelled);
    expect(b.cancel('c-1', NOW)).toEqual({ decision: 'resend-result', action: { kind: 'send-result', result: cancelled } });
  });

  test('accepted but not started after a restart: confirmed and journaled; started: `interrupted`; rejected: the stored ack', () => {
    const first = book();
    first.book.receive(command('a'), NOW, accept);
    first.book.receive(command(), NOW, accept);
    first.book.started('c-1', NOW);
    first.book.receive(command('r'), NOW, () => 'busy');
    const { book: b } = book(first.written);
    expect(b.cancel('a', NOW).action).toEqual({ kind: 'send-result', result: { ...cancelled, commandId: 'a' } });
    expect(b.get('a')?.result?.status).toBe('cancelled');
    expect(b.cancel('c-1', NOW).action).toEqual({ kind: 'send-result', result: interrupted });
    expect(b.cancel('r', NOW).action).toEqual({ kind: 'send-ack', ack: { ...accepted('r'), status: 'rejected', reason: 'busy' } });
  });
});

describe('the journal', () => {
  test('undelivered results are the ones to send again at the next connect', () => {
    const { book: b } = book();
    for (const id of ['a', 'b']) {
      b.receive(command(id), NOW, accept);
      b.started(id, NOW);
      b.finished(id, done(id), NOW);
    }
    b.delivered('a', NOW);
    expect(b.undelivered()).toEqual([{ commandId: 'b', result: done('b') }]);
  });

  test('records of an unknown command, and journals without expiries (older agents), are read without harm', () => {
    const { book: b } = book([
      { type: 'result', commandId: 'ghost', result: done('ghost') },
      { type: 'ack', commandId: 'c-1', name: 'reboot', at: iso(NOW), ack: accepted() },
    ]);
    expect(b.all().map((e) => e.commandId)).toEqual(['c-1']);
    b.forgetExpired(Number.MAX_SAFE_INTEGER);
    expect(b.get('c-1')).toBeDefined();
  });

  test('forgetExpired keeps what a copy could still reach, and what runs', () => {
    const { book: b } = book();
    b.receive(command('gone', 1000), NOW, accept);
    b.finished('gone', done('gone'), NOW);
    b.receive(command('running', 1000), NOW, accept);
    b.receive(command('kept', 10_000), NOW, accept);
    b.forgetExpired(NOW + 5000);
    expect(b.all().map((e) => e.commandId)).toEqual(['running', 'kept']);
  });

  test('property: a snapshot rebuilds the same book from fewer or as many records', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('receive' as const), id: fc.constantFrom('a', 'b', 'c'), reject: fc.boolean() }),
      fc.record({
        op: fc.constantFrom('start' as const, 'finish' as const, 'deliver' as const, 'cancel' as const, 'repeat' as const, 'halt' as const),
        id: fc.constantFrom('a', 'b', 'c'),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const { book: b, written } = book();
        for (const s of steps) {
          if (s.op === 'receive') b.receive(command(s.id), NOW, () => ('reject' in s && s.reject ? 'busy' : undefined));
          else if (!b.get(s.id) && s.op !== 'cancel') continue;
          else if (s.op === 'start') b.started(s.id, NOW);
          else if (s.op === 'finish') b.finished(s.id, done(s.id), NOW);
          else if (s.op === 'deliver') b.delivered(s.id, NOW);
          else if (s.op === 'cancel') b.cancel(s.id, NOW);
          else if (s.op === 'repeat') b.repeat(s.id, NOW);
          else b.halt();
        }
        const snapshot = b.snapshot();
        expect(snapshot.length).toBeLessThanOrEqual(written.length);
        expect(new CommandBook(snapshot).all()).toEqual(new CommandBook(written).all());
        expect(new CommandBook(written).all()).toEqual(b.all());
      }),
    );
  });
});
