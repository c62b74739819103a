import type { ChaosBackend, ProcessKind } from './chaos-stack';
import type { CheckResult } from './checker';
import type { JournalReadStats } from './journal-reader';
import type { KillStats } from './kill-scheduler';
import { explainTiming, type ChaosTiming } from './timing';

export interface ChaosReport {
  runId: string;
  seed: number;
  devices: number;
  commands: number;
  durationMs: number;
  killEveryMs: number;
  dataDir: string;
  /** Where Temporal ran, and the kinds of process that were killed. */
  backend: ChaosBackend;
  kinds: readonly ProcessKind[];
  timing: ChaosTiming;
  kills: KillStats;
  totalKills: number;
  totalRestarts: number;
  sent: number;
  sendRetries: number;
  /** Wall-clock time of each phase and of the whole run. */
  phasesMs: { startup: number; chaos: number; drain: number; check: number };
  elapsedMs: number;
  journal: JournalReadStats & { entries: number };
  commandStats: {
    /** Longest time from start to close of a command the device decided (not Expired). */
    slowestDecidedMs: number;
    slowestCommandId: string;
    /** Commands published more than once (re-publish on silence, reboot, result probe). */
    republished: number;
    /** Commands whose history has each recovery event. */
    withEvent: Record<string, number>;
    maxAttemptsUsed: number;
  };
  check: Omit<CheckResult, 'violations' | 'unexpectedOutcomes'> & {
    violations: CheckResult['violations'];
    unexpectedOutcomes: CheckResult['unexpectedOutcomes'];
  };
  /** Serial devices: started a command while executing another (must be 0); parallel devices may, and are shown for contrast. */
  serial: { devices: number; commands: number; concurrentExecutions: number; concurrentExecutionsOfParallelDevices: number };
  /** The longest outage stayed within the bound the deadlines were sized for. */
  guaranteeHeld: boolean;
  /** All four counts are 0. */
  passed: boolean;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mmss = (ms: number) => `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;

export function formatReport(r: ChaosReport, maxListed = 20): string {
  const c = r.check;
  const lines: string[] = [];
  const row = (label: string, value: string | number) => lines.push(`  ${label.padEnd(52)} ${value}`);
  lines.push(
    '',
    `=== chaos run ${r.runId}: ${r.devices} devices, ${r.commands} commands, seed ${r.seed}, Temporal: ${r.backend === 'postgres' ? 'temporal-server on PostgreSQL' : 'dev server'} ===`,
    '',
  );
  lines.push('Checks (each must be 0):');
  row('commands not terminal after their deadline', c.notTerminalAfterDeadline);
  row('commands executed more than once on a device', c.executedMoreThanOnce);
  row('device journal and Temporal disagree', c.disagreements);
  row(`serial devices (${r.serial.devices}) executing two commands at once`, r.serial.concurrentExecutions);
  lines.push('');
  row('parallel devices executing two at once (allowed)', r.serial.concurrentExecutionsOfParallelDevices);
  lines.push('');
  lines.push('Chaos:');
  row('kills (kill -9), total', r.totalKills);
  for (const k of r.kinds) {
    row(
      `  ${k}`,
      `${r.kills.kills[k]} kills, ${r.kills.restarts[k]} restarts, longest down ${secs(r.kills.longestDownMs[k])}` +
        (r.kills.unexpectedExits[k] ? `, ${r.kills.unexpectedExits[k]} exits by itself` : ''),
    );
  }
  row('restarts, total', `${r.totalRestarts}${r.kills.failedRestarts ? ` (${r.kills.failedRestarts} failed attempts retried)` : ''}`);
  row('longest stretch with a process down', `${secs(r.kills.longestStretchMs)} (bound ${secs(r.timing.maxOutageMs)})`);
  row('time with at least one process down', `${secs(r.kills.degradedMs)} of ${secs(r.phasesMs.chaos)} of chaos`);
  lines.push('');
  lines.push('Commands:');
  row('sent', `${r.sent} of ${r.commands} (${r.sendRetries} send retries while Temporal was unreachable)`);
  for (const [state, n] of Object.entries(c.byState)) if (n) row(`  ${state}`, n);
  row('failed as "interrupted" (device killed mid-execution)', c.interrupted);
  row('published more than once (same commandId)', `${r.commandStats.republished} (at most ${r.commandStats.maxAttemptsUsed} attempts)`);
  const w = r.commandStats.withEvent;
  row('  … after no ack in time (ack-timeout)', w['ack-timeout'] ?? 0);
  row('  … after silence following the ack (result-probe)', w['result-probe'] ?? 0);
  row('  … because the device rebooted (device-rebooted)', w['device-rebooted'] ?? 0);
  row('held while the device was offline (device-offline)', w['device-offline'] ?? 0);
  row('slowest command decided by its device', `${secs(r.commandStats.slowestDecidedMs)} (time to live ${secs(r.timing.ttlMs)})`);
  row('other outcome than the device profile predicts', c.unexpectedOutcomes.length);
  row('device journals', `${r.journal.files} files, ${r.journal.entries} entries of this run, ${r.journal.tornLines} torn lines`);
  lines.push('');
  lines.push('Time:');
  row(
    'total',
    `${mmss(r.elapsedMs)} (startup ${secs(r.phasesMs.startup)}, chaos ${secs(r.phasesMs.chaos)}, drain ${secs(r.phasesMs.drain)}, check ${secs(r.phasesMs.check)})`,
  );
  lines.push('');
  lines.push('Why deadlines are longer than outages:');
  for (const l of explainTiming(r.timing, r.kills.longestStretchMs)) lines.push(`  ${l}`);
  if (c.violations.length) {
    lines.push('', `Violations (first ${Math.min(maxListed, c.violations.length)} of ${c.violations.length}):`);
    for (const v of c.violations.slice(0, maxListed)) lines.push(`  [${v.kind}] ${v.commandId} on ${v.deviceId}: ${v.detail}`);
  }
  if (c.unexpectedOutcomes.length) {
    lines.push('', `Outcomes other than the profile predicts (not violations; first ${Math.min(maxListed, c.unexpectedOutcomes.length)}):`);
    for (const u of c.unexpectedOutcomes.slice(0, maxListed))
      lines.push(`  ${u.commandId}: expected ${u.expected}, got ${u.actual}${u.reason ? ` (${u.reason})` : ''}`);
  }
  lines.push('', `Data, logs and journals: ${r.dataDir}`);
  lines.push(r.passed ? 'RESULT: PASS (all three counts are 0)' : 'RESULT: FAIL');
  if (!r.guaranteeHeld) lines.push('WARNING: an outage exceeded the bound the deadlines were sized for.');
  return lines.join('\n') + '\n';
}
