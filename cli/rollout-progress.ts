import cliProgress from 'cli-progress';
import type { RolloutStatusView } from '../protocol/rollout-contract';

const finishedOf = (c: RolloutStatusView['overall']) => c.succeeded + c.failed + c.rejected + c.timedOut + c.expired + c.cancelled;

/** One line of text per rollout status, for logs and non-terminal output. */
export function rolloutLine(s: RolloutStatusView): string {
  const o = s.overall;
  const extra = s.abortReason ?? s.pauseReason ?? s.cancelReason;
  return (
    `${s.rolloutId} ${s.state.padEnd(14)} wave ${String(s.currentWave ?? '-').padEnd(8)} ` +
    `${finishedOf(o)}/${s.targets} finished (ok ${o.succeeded}, failed ${o.failed}, rejected ${o.rejected}, timed out ${o.timedOut}, expired ${o.expired}) ` +
    `in flight ${o.inFlight}${s.concurrency ? ` (limit ${s.concurrency.limit})` : ''}${s.ratePerMinute ? ` rate ${Math.round(s.ratePerMinute * 10) / 10}/min` : ''}${extra ? ` · ${extra}` : ''}` +
    (s.continuous
      ? ` · continuous: ${s.continuous.joined} joined, last look ${s.continuous.lastScanAt ?? 'not yet'}${s.continuous.full ? ' (target list full)' : ''}`
      : '') +
    zonesPart(s)
  );
}

/** Per-device windows: the zones whose devices still wait, with when their window opens (the first three). */
function zonesPart(s: RolloutStatusView): string {
  if (!s.timeZones?.length) return '';
  const window = (z: NonNullable<RolloutStatusView['timeZones']>[number]) =>
    !z.opensAt ? '' : Date.parse(z.opensAt) <= Date.now() ? ` (window open until ${z.closesAt})` : ` (window opens ${z.opensAt})`;
  const zones = s.timeZones.slice(0, 3).map((z) => `${z.timeZone} ${z.pending}${window(z)}`);
  return ` · waiting by time zone: ${zones.join(', ')}${s.timeZones.length > 3 ? `, and ${s.timeZones.length - 3} more zones` : ''}`;
}

/** A progress bar per wave on a terminal (cli-progress), updated from status snapshots. */
export class RolloutBars {
  private readonly multi = new cliProgress.MultiBar(
    {
      format: ' {wave} [{bar}] {value}/{total}  ok {ok}  failed {failed}  in flight {inFlight}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  private bars: cliProgress.SingleBar[] = [];
  private header?: cliProgress.SingleBar;

  update(s: RolloutStatusView): void {
    if (!this.header) {
      this.header = this.multi.create(1, 0, {}, { format: ' {line}' });
      this.bars = s.waves.map((w) => this.multi.create(w.end - w.start, 0, { wave: w.name.padEnd(8) }));
    }
    this.header.update(0, { line: `${s.rolloutId}: ${s.state}${s.abortReason ? ` (${s.abortReason})` : s.pauseReason ? ` (${s.pauseReason})` : ''}` });
    s.waves.forEach((w, i) => {
      const c = w.counts;
      this.bars[i]?.update(finishedOf(c), { wave: w.name.padEnd(8), ok: c.succeeded, failed: c.failed + c.rejected + c.timedOut, inFlight: c.inFlight });
    });
  }

  stop(): void {
    this.multi.stop();
  }
}
