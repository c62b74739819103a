import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AckMessage, ResultMessage } from '../../protocol/messages';
import { checkChaosRun, type CheckInput, type TemporalFacts } from '../chaos/checker';
import type { ExpectedOutcome } from '../chaos/command-plan';
import { readDeviceJournals } from '../chaos/journal-reader';
import { chaosTiming, commandDeadlineMs } from '../chaos/timing';

/**
 * The chaos run's verdict must be able to say no: each check is fed a consistent run, then the
 * same run with one thing broken (a journal with a second execution, a result Temporal never
 * saw, a command left open), and must flag exactly that.
 */

const NOW = Date.parse('2026-01-01T12:00:00Z');
const EXPIRES = NOW - 10 * 60_000; // every command expired long ago: deadlines have passed
const accepted = (c: string): AckMessage => ({ v: 1, commandId: c, status: 'accepted' });
const rejected = (c: string, reason: string): AckMessage => ({ v: 1, commandId: c, status: 'rejected', reason });
const succeeded = (c: string): ResultMessage => ({ v: 1, commandId: c, status: 'succeeded', output: { ok: true } });
const failed = (c: string, code: string): ResultMessage => ({ v: 1, commandId: c, status: 'failed', error: { code, message: code } });

function journalLine(r: object): string {
  return JSON.stringify({ at: '2026-01-01T11:50:00Z', ...r });
}

/** A consistent run: one command per outcome, journals written as the reference agent writes them. */
function consistentRun() {
  const commands: Array<{ commandId: string; deviceId: string; expected: ExpectedOutcome }> = [
    { commandId: 'ok', deviceId: 'd1', expected: 'Succeeded' },
    { commandId: 'bad', deviceId: 'd1', expected: 'Failed' },
    { commandId: 'no', deviceId: 'd2', expected: 'Rejected' },
    { commandId: 'late', deviceId: 'd2', expected: 'Succeeded' },
    { commandId: 'away', deviceId: 'd3', expected: 'Expired' },
    { commandId: 'cut', deviceId: 'd3', expected: 'Succeeded' },
  ];
  const journals: Record<string, object[]> = {
    d1: [
      { type: 'ack', commandId: 'ok', name: 'ping', ack: accepted('ok') },
      { type: 'executing', commandId: 'ok' },
      { type: 'result', commandId: 'ok', result: succeeded('ok') },
      { type: 'delivered', commandId: 'ok' },
      { type: 'ack', commandId: 'bad', name: 'ping', ack: accepted('bad') },
      { type: 'executing', commandId: 'bad' },
      { type: 'result', commandId: 'bad', result: failed('bad', 'simulated-failure') },
    ],
    d2: [
      { type: 'ack', commandId: 'no', name: 'ping', ack: rejected('no', 'simulated-rejection') },
      { type: 'ack', commandId: 'late', name: 'ping', ack: rejected('late', 'expired') },
    ],
    d3: [
      // Killed while executing; the repeat after the restart reported it interrupted.
      { type: 'ack', commandId: 'cut', name: 'ping', ack: accepted('cut') },
      { type: 'executing', commandId: 'cut' },
      { type: 'result', commandId: 'cut', result: failed('cut', 'interrupted') },
    ],
  };
  const temporal = new Map<string, TemporalFacts>(
    (
      [
        ['ok', 'Succeeded'],
        ['bad', 'Failed', 'simulated-failure: simulated-failure', 'simulated-failure'],
        ['no', 'Rejected', 'simulated-rejection'],
        ['late', 'Expired', 'expired'],
        ['away', 'Expired', 'time to live passed while the device was offline'],
        ['cut', 'Failed', 'interrupted: interrupted', 'interrupted'],
      ] as const
    ).map(([commandId, state, reason, errorCode]) => [
      commandId,
      { commandId, status: 'COMPLETED', state, expiresAtMs: EXPIRES, ...(reason ? { reason } : {}), ...(errorCode ? { errorCode } : {}) },
    ]),
  );
  return { commands, journals, temporal };
}

type Run = ReturnType<typeof consistentRun>;

/** Writes the journals as files and reads them back the way the chaos run does. */
function check(run: Run, extraText: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chaos-checker-'));
  for (const [device, lines] of Object.entries(run.journals)) {
    writeFileSync(path.join(dir, `${device}.journal.jsonl`), lines.map(journalLine).join('\n') + '\n' + (extraText[device] ?? ''));
  }
  const { facts, stats } = readDeviceJournals(dir);
  const timing = chaosTiming({ maxOutageMs: 30_000, calmRatio: 0.5, ackTimeoutMs: 5_000, maxExecutionMs: 3_000 });
  const input: CheckInput = {
    commands: run.commands,
    temporal: run.temporal,
    journal: facts,
    deadlineMs: (t) => commandDeadlineMs(t?.expiresAtMs ?? EXPIRES, timing),
    nowMs: NOW,
  };
  return { result: checkChaosRun(input), stats, facts };
}

describe('chaos checker', () => {
  test('a consistent run passes, with every state counted', () => {
    const { result } = check(consistentRun());
    expect(result.violations).toEqual([]);
    expect([result.notTerminalAfterDeadline, result.executedMoreThanOnce, result.disagreements]).toEqual([0, 0, 0]);
    expect(result.byState).toMatchObject({ Succeeded: 1, Failed: 2, Rejected: 1, Expired: 2 });
    expect(result.interrupted).toBe(1);
    expect(result.unexpectedOutcomes).toEqual([{ commandId: 'late', expected: 'Succeeded', actual: 'Expired', reason: 'expired' }]);
  });

  test('a torn last line (a kill mid-write) is tolerated, as the agent tolerates it', () => {
    const { result, stats } = check(consistentRun(), { d1: '{"type":"executing","comma' });
    expect(stats.tornLines).toBe(1);
    expect(result.violations).toEqual([]);
  });

  test('a second execution in a journal is flagged', () => {
    const run = consistentRun();
    run.journals.d1.splice(2, 0, { type: 'executing', commandId: 'ok' });
    const { result } = check(run);
    expect(result.executedMoreThanOnce).toBe(1);
    expect(result.violations[0]).toMatchObject({ kind: 'executed-more-than-once', commandId: 'ok', detail: "2 executions in the device's journal" });
  });

  test('a command taken as new twice is flagged even when the agent would hide it (its loader restarts the entry)', () => {
    const run = consistentRun();
    run.journals.d1.push({ type: 'ack', commandId: 'ok', name: 'ping', ack: accepted('ok') });
    expect(check(run).result.executedMoreThanOnce).toBe(1);
  });

  test('a result in the journal that Temporal did not record is a disagreement', () => {
    const run = consistentRun();
    run.temporal.set('ok', { ...run.temporal.get('ok')!, state: 'TimedOut', reason: 'no result within 60000 ms of the ack' });
    const { result } = check(run);
    expect(result.disagreements).toBe(1);
    expect(result.violations[0].detail).toMatch(/journal has result succeeded, but Temporal says TimedOut/);
  });

  test('TimedOut with the same late outcome as the journal tells one story; another late outcome does not', () => {
    const run = consistentRun();
    run.temporal.set('ok', { ...run.temporal.get('ok')!, state: 'TimedOut', reason: 'no result within 60000 ms of the ack', lateOutcome: 'succeeded' });
    expect(check(run).result.disagreements).toBe(0);
    run.temporal.set('ok', { ...run.temporal.get('ok')!, lateOutcome: 'failed' });
    expect(check(run).result.disagreements).toBe(1);
  });

  test('Temporal claiming an outcome the device never produced is a disagreement (a lost or corrupted journal)', () => {
    const run = consistentRun();
    run.journals.d1 = run.journals.d1.filter((r) => (r as { commandId: string }).commandId !== 'ok');
    const { result } = check(run);
    expect(result.disagreements).toBe(1);
    expect(result.violations[0].detail).toMatch(/no journal entry on the device, but Temporal says Succeeded/);
  });

  test('a different failure, a different rejection, or an accepted command without a result are disagreements', () => {
    const run = consistentRun();
    run.temporal.set('bad', { ...run.temporal.get('bad')!, errorCode: 'E_OTHER' });
    run.temporal.set('no', { ...run.temporal.get('no')!, reason: 'busy' });
    run.journals.d3 = run.journals.d3.filter((r) => (r as { type: string }).type !== 'result');
    const { result } = check(run);
    expect(result.disagreements).toBe(3);
    expect(result.violations.map((v) => v.commandId).sort()).toEqual(['bad', 'cut', 'no']);
  });

  test('a journal entry for a command that was never sent, or on another device, is a disagreement', () => {
    const run = consistentRun();
    run.journals.d2.push({ type: 'ack', commandId: 'ghost', name: 'ping', ack: accepted('ghost') });
    run.journals.d2.push({ type: 'ack', commandId: 'ok', name: 'ping', ack: accepted('ok') });
    const { result } = check(run);
    expect(result.disagreements).toBe(2);
  });

  test('a command still open after its deadline is flagged; one whose deadline has not passed is only counted', () => {
    const run = consistentRun();
    run.temporal.set('away', { commandId: 'away', status: 'RUNNING', state: 'Created', expiresAtMs: EXPIRES });
    run.temporal.set('late', { commandId: 'late', status: 'RUNNING', state: 'Sent', expiresAtMs: NOW + 60_000 });
    const { result } = check(run);
    expect(result.notTerminalAfterDeadline).toBe(1);
    expect(result.openBeforeDeadline).toBe(1);
    expect(result.byState['open:RUNNING/Created']).toBe(1);
    expect(result.violations).toEqual([expect.objectContaining({ kind: 'not-terminal-after-deadline', commandId: 'away' })]);
  });

  test('a workflow that failed, or was never started, is not terminal', () => {
    const run = consistentRun();
    run.temporal.set('ok', { commandId: 'ok', status: 'FAILED' });
    run.temporal.delete('bad');
    expect(check(run).result.notTerminalAfterDeadline).toBe(2);
  });
});

describe('chaos timing', () => {
  test('deadlines grow with the outage bound; attempts outlast the time to live', () => {
    const t = chaosTiming({ maxOutageMs: 60_000, calmRatio: 0.5, ackTimeoutMs: 10_000, maxExecutionMs: 6_000 });
    expect(t.resultProbeMs).toBe(20_000);
    expect(t.cycleMs).toBe(90_000);
    expect(t.resultTimeoutMs).toBeGreaterThanOrEqual(2 * t.cycleMs + 2 * t.resultProbeMs + 6_000);
    // Probes back off (20, 60, 140, 300 s after the ack): the first after two cycles and the
    // execution (186 s) is at 300 s; one more probe interval and 10 s for its answer.
    expect(t.resultTimeoutMs).toBe(330_000);
    expect(t.ttlMs).toBeGreaterThan(t.maxOutageMs + t.resultTimeoutMs);
    expect(t.maxAttempts * t.ackTimeoutMs).toBeGreaterThanOrEqual(t.ttlMs);
    expect(t.backoff.maxMs).toBeLessThanOrEqual(t.ackTimeoutMs);
  });
});
