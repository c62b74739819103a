/**
 * What an operator (or the rollout itself) does to a rollout's progress: pause, resume, cancel,
 * approve a wave's gate, abort. Pure and idempotent, and they never throw: they run in signal
 * and update handlers (rollout-operator-handlers.ts), where a second identical signal changes nothing.
 */
import type { RolloutProgress } from './rollout-progress';

export function pause(p: RolloutProgress, reason = 'paused by operator'): RolloutProgress {
  return p.paused ? p : { ...p, paused: { reason } };
}

export function resume(p: RolloutProgress): RolloutProgress {
  if (!p.paused) return p;
  const { paused: _dropped, ...rest } = p;
  return rest;
}

export function cancel(p: RolloutProgress, reason = 'cancelled by operator'): RolloutProgress {
  return p.cancelled ? p : { ...p, cancelled: { reason } };
}

/** Why an approval of `waveIndex` would not count, or undefined when it is fine (for an update validator). */
export function approvalProblem(p: RolloutProgress, waveIndex: number): string | undefined {
  const wave = p.waves[waveIndex];
  if (!wave) return `there is no wave ${waveIndex} (waves 0-${p.waves.length - 1})`;
  if (!wave.approvalAfter) return `wave ${wave.name} has no approval gate`;
  if (p.approved.includes(waveIndex)) return `wave ${wave.name} is already approved`;
  if (waveIndex < p.current) return `wave ${wave.name} is already behind the rollout`;
  return undefined;
}

/** Approves the gate after `waveIndex` (default: the current wave). Approving ahead of time is allowed. */
export function approve(p: RolloutProgress, waveIndex = p.current): RolloutProgress {
  if (approvalProblem(p, waveIndex)) return p;
  return { ...p, approved: [...p.approved, waveIndex].sort((a, b) => a - b) };
}

/** Ends the rollout for a reason of its own (no window can be found): aborted, the in-flight commands finish. */
export function abortRollout(p: RolloutProgress, reason: string): RolloutProgress {
  return p.aborted ? p : { ...p, aborted: { reason } };
}
