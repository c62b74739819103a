import { isFinal, type RolloutHandle } from '../../client/rollout-client';
import type { RolloutStatusView } from '../../protocol/rollout-contract';
import { RolloutBars, rolloutLine } from '../rollout-progress';

/** A line per wave: its devices, their counts per state, and its approval gate. */
export function waveLines(s: RolloutStatusView): string {
  return (
    s.waves
      .map((w) => {
        const c = w.counts;
        return `  ${w.name.padEnd(8)} devices ${w.start}-${w.end - 1}: pending ${c.pending}, in flight ${c.inFlight}, ok ${c.succeeded}, failed ${c.failed}, rejected ${c.rejected}, timed out ${c.timedOut}, expired ${c.expired}${w.approvalAfter ? (w.approved ? ' · gate approved' : ' · approval gate') : ''}`;
      })
      .join('\n') + '\n'
  );
}

/** Live progress until the end: bars on a terminal, JSON lines with --json, text lines otherwise. */
export async function follow(handle: RolloutHandle, json: boolean): Promise<RolloutStatusView> {
  const bars = !json && process.stderr.isTTY ? new RolloutBars() : undefined;
  let lastLine = '';
  for (;;) {
    const s = await handle.status();
    if (bars) bars.update(s);
    else {
      const line = json ? JSON.stringify(s) : rolloutLine(s);
      if (line !== lastLine) process.stdout.write(line + '\n');
      lastLine = line;
    }
    if (isFinal(s)) {
      bars?.stop();
      if (bars) process.stdout.write(rolloutLine(s) + '\n' + waveLines(s));
      return s;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
