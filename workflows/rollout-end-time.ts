/** RolloutSpec.endAt: when a rollout stops starting commands, and how long a wait may last before it. */
import type { RolloutSpec } from '../protocol/rollout-spec';
import type { RolloutLimits, RolloutProgress } from './rollout-progress';

/**
 * RolloutSpec.endAt: once it has passed, the reason to stop the rollout with (the workflow then
 * cancels it: no new command starts); undefined before, without an end time, or once the
 * rollout is ending anyway.
 */
export function endReached(p: RolloutProgress, nowMs: number, spec: RolloutLimits & { endBehaviour?: RolloutSpec['endBehaviour'] }): string | undefined {
  if (!spec.endAt || p.cancelled || p.aborted || nowMs < Date.parse(spec.endAt)) return undefined;
  // A continuous rollout that reached every device it found ends `done` at its end time (once
  // those in flight finish, unless they are to be cancelled): that is its normal end.
  const pending = p.waves.reduce((n, w) => n + w.counts.pending, 0);
  if (spec.continuous && pending === 0 && (spec.endBehaviour !== 'cancel-in-flight' || p.inFlight.length === 0)) return undefined;
  const kind = spec.endBehaviour === 'cancel-in-flight' ? 'commands in flight were cancelled' : 'commands in flight were left to finish';
  return `end time ${spec.endAt} reached: no new commands were started, ${kind}`;
}

/** How long a wait may last with an end time ahead (RolloutSpec.endAt): until it, at most; no bound once the rollout is ending anyway. */
export function untilEndMs(p: RolloutProgress, nowMs: number, spec: Pick<RolloutLimits, 'endAt'>): number | undefined {
  if (!spec.endAt || p.cancelled || p.aborted || nowMs >= Date.parse(spec.endAt)) return undefined;
  return Math.max(1, Date.parse(spec.endAt) - nowMs);
}
