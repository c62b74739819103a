import type { RolloutStatusView } from '../protocol/rollout-contract';

/**
 * How a rollout shows itself to people: the Web UI's current details (a few lines in plain
 * words) and which of its states are worth a log line of their own.
 */

/** Rollout states worth a log line of their own; every other state logs as `running`. */
export const MILESTONE_STATES = new Set(['paused', 'await-approval', 'done', 'aborted', 'cancelled']);

/** The current details: state, progress, and why it waits or ended. */
export function describeRollout(s: RolloutStatusView): string {
  const o = s.overall;
  const done = o.succeeded + o.failed + o.rejected + o.timedOut + o.expired + o.cancelled;
  const parts = [
    `**${s.state}** · \`${s.command}\` to ${s.targets} devices · wave ${s.currentWave ?? '-'}`,
    `${done}/${s.targets} finished: ${o.succeeded} succeeded, ${o.failed + o.rejected + o.timedOut} failed, ${o.expired} expired · ${o.inFlight} in flight`,
  ];
  if (s.abortReason) parts.push(`aborted: ${s.abortReason}`);
  if (s.pauseReason) parts.push(`paused: ${s.pauseReason}`);
  if (s.cancelReason) parts.push(`cancelled: ${s.cancelReason}`);
  if (s.continuous) {
    const c = s.continuous;
    parts.push(
      `continuous (\`${c.query}\`): ${c.joined} devices joined after the start, last look ${c.lastScanAt ?? 'not yet'}${c.full ? ', target list full: no more looks' : ''}`,
    );
  }
  if (s.timeZones?.length) {
    const zones = s.timeZones.slice(0, 5).map((z) => `${z.timeZone} ${z.pending}${z.opensAt ? ` (window ${z.opensAt} to ${z.closesAt})` : ''}`);
    parts.push(`waiting by time zone: ${zones.join(', ')}${s.timeZones.length > 5 ? ', ...' : ''}`);
  }
  return parts.join(' · ');
}
