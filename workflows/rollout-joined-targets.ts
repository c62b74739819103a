/** RolloutSpec.continuous: the devices a running rollout finds after it started join its last wave. */
import { emptyCounts } from './rollout-counts';
import { addZonedTargets } from './rollout-device-windows';
import type { RolloutProgress, WaveProgress } from './rollout-progress';

/** The one wave of a continuous rollout that started with no device: every device it finds joins it. */
export const JOINED_WAVE = 'joined';

/**
 * A continuous rollout found `count` more devices (RolloutSpec.continuous): they are appended
 * after every target so far, as pending devices of the last wave, so they go out under the
 * same concurrency, rate, window and abort rule, after the planned waves. A rollout that
 * started with no device has no planned waves: its devices all join one wave, `joined`, whose
 * ramp-up (the first abort.minFinished devices finish before more start) stands in for a canary.
 */
export function addTargets(p: RolloutProgress, count: number, zones?: readonly string[]): RolloutProgress {
  if (!(count > 0) || !Number.isSafeInteger(count)) return p;
  if (p.waves.length === 0) p = { ...p, current: 0, waves: [{ index: 0, name: JOINED_WAVE, start: 0, end: 0, approvalAfter: false, counts: emptyCounts() }] };
  const last = p.waves[p.waves.length - 1];
  const { completedAtMs: _reopened, ...rest } = last;
  const grown: WaveProgress = { ...rest, end: last.end + count, counts: { ...last.counts, pending: last.counts.pending + count } };
  // With per-device windows the new devices' zones (sorted: sortByZone) become segments of their own.
  const deviceWindows = p.deviceWindows && zones?.length === count ? addZonedTargets(p.deviceWindows, last.end, zones) : p.deviceWindows;
  return { ...p, waves: [...p.waves.slice(0, -1), grown], ...(deviceWindows ? { deviceWindows } : {}) };
}
