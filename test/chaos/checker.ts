import { isTerminal, TERMINAL_STATES, type CommandState } from '../../protocol/command-state';
import type { ExpectedOutcome, PlannedCommand } from './command-plan';
import type { DeviceFacts } from './journal-reader';

/** What Temporal says about one command at the end of the run. */
export interface TemporalFacts {
  commandId: string;
  /** Workflow execution status (`COMPLETED`, `RUNNING`, `FAILED`, …) or `NOT_FOUND`. */
  status: string;
  /** The command's state: the result of a completed workflow, or the last query of a running one. */
  state?: CommandState;
  reason?: string;
  errorCode?: string;
  expiresAtMs?: number;
  attempts?: number;
  /** From the workflow's start to its close. */
  durationMs?: number;
  /** The distinct events of the command's history (published, ack-timeout, result-probe, …). */
  events?: string[];
  /** What the device reported after the command ended (its late answers record), if anything. */
  lateOutcome?: string;
}

export type ViolationKind = 'not-terminal-after-deadline' | 'executed-more-than-once' | 'journal-disagrees-with-temporal';

export interface Violation {
  kind: ViolationKind;
  commandId: string;
  deviceId: string;
  detail: string;
}

export interface CheckInput {
  commands: ReadonlyArray<Pick<PlannedCommand, 'commandId' | 'deviceId' | 'expected'>>;
  temporal: ReadonlyMap<string, TemporalFacts>;
  /** Every device journal entry that belongs to this run. */
  journal: readonly DeviceFacts[];
  /** The last moment each command may still be open (see timing.ts). */
  deadlineMs: (t: TemporalFacts | undefined) => number;
  nowMs: number;
}

export interface CheckResult {
  notTerminalAfterDeadline: number;
  executedMoreThanOnce: number;
  disagreements: number;
  /** Commands still open whose deadline has not passed (the run stopped waiting too early). */
  openBeforeDeadline: number;
  violations: Violation[];
  /** Commands per final state; `open:<status>` for those not terminal. */
  byState: Record<string, number>;
  /** Accepted commands a device reported `interrupted` (it was killed while executing them). */
  interrupted: number;
  /** Terminal outcomes other than the device profile predicts, interrupted ones excepted; not a violation. */
  unexpectedOutcomes: Array<{ commandId: string; expected: ExpectedOutcome; actual: string; reason?: string }>;
}

/** What the device did with a command, in the terms of Temporal's terminal states. */
type DeviceVerdict =
  | { kind: 'never-received' }
  | { kind: 'rejected'; reason: string }
  | { kind: 'accepted-without-result'; executions: number }
  | { kind: 'result'; status: 'succeeded' | 'failed' | 'cancelled'; errorCode?: string };

function deviceVerdict(f: DeviceFacts | undefined): DeviceVerdict {
  if (!f || f.acks.length === 0) {
    // A result without an ack line cannot be written by the agent; treat it as received.
    if (f?.results.length) return { kind: 'result', status: f.results[0].status, errorCode: f.results[0].error?.code };
    return { kind: 'never-received' };
  }
  const ack = f.acks[0];
  // Cancelled before it arrived: the device journals a rejection and the `cancelled` result.
  if (f.results[0]?.status === 'cancelled') return { kind: 'result', status: 'cancelled' };
  if (ack.status === 'rejected') return { kind: 'rejected', reason: ack.reason ?? '' };
  if (f.results.length === 0) return { kind: 'accepted-without-result', executions: f.executions };
  return { kind: 'result', status: f.results[0].status, errorCode: f.results[0].error?.code };
}

/** Undefined when the device's record and Temporal's terminal state tell the same story. */
function disagreement(v: DeviceVerdict, t: TemporalFacts): string | undefined {
  const state = t.state!;
  const temporal = `Temporal says ${state}${t.reason ? ` (${t.reason})` : ''}`;
  switch (v.kind) {
    case 'never-received':
      // Nothing reached the device: only states that need no answer from it are honest.
      return state === 'TimedOut' || state === 'Expired' || state === 'Cancelled' ? undefined : `no journal entry on the device, but ${temporal}`;
    case 'rejected': {
      const want: CommandState = v.reason === 'expired' ? 'Expired' : 'Rejected';
      if (state !== want) return `the device rejected it (${v.reason || 'no reason'}), but ${temporal}`;
      if (want === 'Rejected' && (t.reason ?? '') !== (v.reason || 'rejected by device')) return `the device rejected it (${v.reason}), but ${temporal}`;
      return undefined;
    }
    case 'accepted-without-result':
      return `the device accepted it (${v.executions} execution(s) started) but stored no result; ${temporal}`;
    case 'result': {
      const want: CommandState = v.status === 'succeeded' ? 'Succeeded' : v.status === 'failed' ? 'Failed' : 'Cancelled';
      // The service stopped waiting, and the device's answer came afterwards: attached as the
      // command's late outcome, it tells the same story.
      if (state === 'TimedOut' && t.lateOutcome === v.status) return undefined;
      if (state !== want) return `the device's journal has result ${v.status}${v.errorCode ? ` (${v.errorCode})` : ''}, but ${temporal}`;
      if (want === 'Failed' && v.errorCode !== t.errorCode) return `the device failed it with ${v.errorCode}, Temporal recorded ${t.errorCode}`;
      return undefined;
    }
  }
}

/**
 * The three checks of a chaos run, from Temporal's view and the devices' journals:
 * 1. every command is terminal once its deadline passed;
 * 2. no device executed a command more than once;
 * 3. whatever a device's journal says it did (nothing, rejected, succeeded, failed) is what
 *    Temporal says happened, and vice versa.
 * Pure: the caller collects the facts.
 */
export function checkChaosRun(input: CheckInput): CheckResult {
  const violations: Violation[] = [];
  const byState: Record<string, number> = Object.fromEntries(TERMINAL_STATES.map((s) => [s, 0]));
  const planned = new Map(input.commands.map((c) => [c.commandId, c]));
  const facts = new Map<string, DeviceFacts[]>();
  for (const f of input.journal) facts.set(f.commandId, [...(facts.get(f.commandId) ?? []), f]);
  let openBeforeDeadline = 0;
  let interrupted = 0;
  const unexpectedOutcomes: CheckResult['unexpectedOutcomes'] = [];

  // 2. Executed more than once, on any device, for any command of the run.
  for (const f of input.journal) {
    if (f.executions > 1) {
      violations.push({
        kind: 'executed-more-than-once',
        commandId: f.commandId,
        deviceId: f.deviceId,
        detail: `${f.executions} executions in the device's journal`,
      });
    } else if (f.acks.length > 1) {
      violations.push({
        kind: 'executed-more-than-once',
        commandId: f.commandId,
        deviceId: f.deviceId,
        detail: `taken as a new command ${f.acks.length} times (${f.executions} execution(s))`,
      });
    }
  }

  // Journal entries for commands of this run that were never sent: a device acted on its own.
  for (const [commandId, list] of facts) {
    if (planned.has(commandId)) continue;
    for (const f of list)
      violations.push({ kind: 'journal-disagrees-with-temporal', commandId, deviceId: f.deviceId, detail: 'journal entry for a command that was never sent' });
  }

  for (const c of input.commands) {
    const t = input.temporal.get(c.commandId);
    const terminal = t?.status === 'COMPLETED' && t.state !== undefined && isTerminal(t.state);
    const own = (facts.get(c.commandId) ?? []).filter((f) => f.deviceId === c.deviceId);
    for (const f of facts.get(c.commandId) ?? []) {
      if (f.deviceId !== c.deviceId) {
        violations.push({
          kind: 'journal-disagrees-with-temporal',
          commandId: c.commandId,
          deviceId: f.deviceId,
          detail: `journaled by ${f.deviceId}, but it was sent to ${c.deviceId}`,
        });
      }
    }
    const mine = own[0];

    // 1. Terminal by the deadline.
    if (!terminal) {
      const label = `open:${t?.status ?? 'UNKNOWN'}${t?.state ? `/${t.state}` : ''}`;
      byState[label] = (byState[label] ?? 0) + 1;
      if (input.nowMs > input.deadlineMs(t)) {
        violations.push({
          kind: 'not-terminal-after-deadline',
          commandId: c.commandId,
          deviceId: c.deviceId,
          detail: `workflow ${t?.status ?? 'unknown'}${t?.state ? `, state ${t.state}` : ''} past its deadline ${new Date(input.deadlineMs(t)).toISOString()}`,
        });
      } else {
        openBeforeDeadline++;
      }
      continue; // not decided: nothing to compare with the journal yet
    }
    byState[t.state!]++;

    // 3. The journal and Temporal agree.
    const verdict = deviceVerdict(mine);
    const why = disagreement(verdict, t);
    if (why) violations.push({ kind: 'journal-disagrees-with-temporal', commandId: c.commandId, deviceId: c.deviceId, detail: why });
    const results = new Set((mine?.results ?? []).map((r) => JSON.stringify({ s: r.status, e: r.error?.code })));
    if (results.size > 1) {
      violations.push({
        kind: 'journal-disagrees-with-temporal',
        commandId: c.commandId,
        deviceId: c.deviceId,
        detail: `the journal holds ${results.size} different results`,
      });
    }

    // Information: outcomes other than the profile predicts.
    if (verdict.kind === 'result' && verdict.errorCode === 'interrupted') interrupted++;
    else if (t.state !== c.expected)
      unexpectedOutcomes.push({ commandId: c.commandId, expected: c.expected, actual: t.state!, ...(t.reason ? { reason: t.reason } : {}) });
  }

  const count = (k: ViolationKind) => new Set(violations.filter((v) => v.kind === k).map((v) => `${v.deviceId} ${v.commandId}`)).size;
  return {
    notTerminalAfterDeadline: count('not-terminal-after-deadline'),
    executedMoreThanOnce: count('executed-more-than-once'),
    disagreements: count('journal-disagrees-with-temporal'),
    openBeforeDeadline,
    violations,
    byState,
    interrupted,
    unexpectedOutcomes,
  };
}
