/**
 * A rollout's waves: the canary, then each wave of the spec, as ranges of the target list.
 * Pure, as the rest of the planner (rollout-plan.ts).
 */
import type { RolloutSpec, WaveSize } from '../protocol/rollout-spec';

export interface PlannedWave {
  /** Position in the plan: 0 is the canary, then 1, 2, … without gaps. */
  index: number;
  /** `canary`, or `wave-k` for `spec.waves[k - 1]`: names follow the operator's list even when a wave was empty and dropped. */
  name: string;
  /** Half-open range of indexes into the target list. */
  start: number;
  end: number;
  /** A manual approval is needed after this wave before the next one starts. */
  approvalAfter: boolean;
}

/** Guards against 29 × 100 / 100 = 28.999…: percentages are decimal, doubles are not. */
export const EPSILON = 1e-9;

/** How many devices have been reached when a wave of this size ends (cumulative, clamped). */
export function reachOf(size: WaveSize, targetCount: number): number {
  if ('count' in size) return Math.min(size.count, targetCount);
  return Math.min(targetCount, Math.floor((size.percent * targetCount) / 100 + EPSILON));
}

/**
 * Splits `targetCount` targets into waves: the canary (at least 1 device), then one wave per
 * `spec.waves` entry, the last taking every remaining device. Entries are cumulative (see
 * WaveSize); an entry that reaches no further than the previous one gives an empty wave, which
 * is dropped. Its approval gate sits between the same devices either way, so it moves to the
 * wave before; a gate after the final wave would approve nothing and is dropped.
 * The ranges are contiguous, non-empty and cover exactly [0, targetCount).
 */
export function planWaves(targetCount: number, spec: Pick<RolloutSpec, 'canary' | 'waves' | 'approvalAfter'>): PlannedWave[] {
  if (!Number.isSafeInteger(targetCount) || targetCount < 0) throw new RangeError(`targetCount must be a whole number >= 0, got ${targetCount}`);
  if (targetCount === 0) return [];
  const reaches = [Math.max(1, reachOf(spec.canary, targetCount))];
  spec.waves.forEach((w, i) => reaches.push(i === spec.waves.length - 1 ? targetCount : reachOf(w, targetCount)));
  if (spec.waves.length === 0) reaches.push(targetCount); // the schema forbids it; never leave devices out
  const gates = new Set(spec.approvalAfter);
  const plan: PlannedWave[] = [];
  let start = 0;
  reaches.forEach((end, k) => {
    if (end > start) {
      plan.push({ index: plan.length, name: k === 0 ? 'canary' : `wave-${k}`, start, end, approvalAfter: gates.has(k) });
      start = end;
    } else if (gates.has(k) && plan.length > 0) {
      plan[plan.length - 1].approvalAfter = true;
    }
  });
  plan[plan.length - 1].approvalAfter = false;
  return plan;
}
