import type { CommandSnapshot } from '../protocol/command-contract';

/** The machine-readable form printed by `--json`: one object per command. */
export function commandJson(c: CommandSnapshot): Record<string, unknown> {
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

export function commandText(c: CommandSnapshot): string {
  const head = `${c.commandId}  ${c.name} → ${c.deviceId}: ${c.state} (${c.attempts} attempt${c.attempts === 1 ? '' : 's'})`;
  const lines = [head, ...historyLines(c)];
  if (c.output) lines.push(`  output: ${JSON.stringify(c.output)}`);
  if (c.error) lines.push(`  error:  ${c.error.code}: ${c.error.message}`);
  return lines.join('\n');
}
