import type { CommandSnapshot } from '../protocol/command-contract';
import type { LateAnswers } from '../protocol/late-answers-contract';

/** The machine-readable form printed by `--json`: one object per command. */
export function commandJson(c: CommandSnapshot, late?: LateAnswers): Record<string, unknown> {
  return {
    commandId: c.commandId,
    deviceId: c.deviceId,
    name: c.name,
    params: c.params,
    state: c.state,
    attempts: c.attempts,
    createdAt: c.createdAt,
    expiresAt: c.expiresAt,
    ...(c.rolloutId ? { rolloutId: c.rolloutId } : {}),
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.output ? { output: c.output } : {}),
    ...(c.error ? { error: c.error } : {}),
    history: c.history,
    ...(c.historyDropped ? { historyDropped: c.historyDropped } : {}),
    ...(late ? { lateOutcome: late.lateOutcome, lateAnswers: late.answers } : {}),
  };
}

const time = (iso: string) => iso.slice(11, 23);

/** One line per history entry: time, state, what happened. */
export function historyLines(c: CommandSnapshot): string[] {
  return c.history.map((e) => {
    const detail = [e.event, e.attempt ? `attempt ${e.attempt}` : '', e.reason ?? ''].filter(Boolean).join(' · ');
    return `  ${time(e.at)}  ${e.state.padEnd(12)}  ${detail}`;
  });
}

export function commandText(c: CommandSnapshot, late?: LateAnswers): string {
  const head = `${c.commandId}  ${c.name} → ${c.deviceId}: ${c.state} (${c.attempts} attempt${c.attempts === 1 ? '' : 's'})`;
  const lines = [head, ...historyLines(c)];
  if (c.output) lines.push(`  output: ${JSON.stringify(c.output)}`);
  if (c.error) lines.push(`  error:  ${c.error.code}: ${c.error.message}`);
  if (late) {
    // After the end: the state above stays, but this is what the device did afterwards.
    lines.push(`  late outcome: ${late.lateOutcome} (reported after the command ended ${c.state}; the state does not change)`);
    for (const a of late.answers) {
      const extra = a.output
        ? ` output ${JSON.stringify(a.output)}`
        : a.error
          ? ` error ${a.error.code}: ${a.error.message}`
          : a.reason
            ? ` reason ${a.reason}`
            : '';
      lines.push(`  ${time(a.receivedAt)}  late ${a.kind} ${a.status}${extra}`);
    }
  }
  return lines.join('\n');
}
