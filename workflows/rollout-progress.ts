/**
 * What a rollout knows besides its spec (RolloutProgress), where a new rollout starts
 * (newProgress), and the part of its spec the planner reads (RolloutLimits). Pure, as the rest
 * of the planner (rollout-plan.ts): the progress is small plain JSON that survives continue-as-new.
 */
import type { RolloutSpec } from '../protocol/rollout-spec';
import { addCounts, emptyCounts, type RolloutCounts } from './rollout-counts';
import { planWaves, type PlannedWave } from './rollout-waves';
import type { DeviceWindows } from './rollout-device-windows';
import { adaptivePolicy, newAdaptiveState, type AdaptivePolicy, type AdaptiveState } from './adaptive-concurrency';

export interface WaveProgress extends PlannedWave {
  counts: RolloutCounts;
  /** Workflow time when the wave's last command finished: its soak runs from here. */
  completedAtMs?: number;
}

/** Token bucket of the rate limit; two numbers, so it survives continue-as-new. */
export interface RateState {
  tokens: number;
  atMs: number;
}

/**
 * Everything a rollout knows besides its spec. Plain JSON, bounded by the number of waves and
 * the concurrency (never by the fleet size).
 */
export interface RolloutProgress {
  /** Adaptive concurrency (RolloutSpec.adaptive), carried over continue-as-new with the rest. */
  adaptive?: { policy: AdaptivePolicy; state: AdaptiveState };
  waves: WaveProgress[];
  /** Index of the wave being run; commands are only ever started in this wave. */
  current: number;
  /** Target indexes started and not finished, ascending. A finish for any other index is ignored. */
  inFlight: number[];
  /** Plan indexes whose approval gate was approved (possibly ahead of time). */
  approved: number[];
  paused?: { reason: string };
  aborted?: { reason: string };
  cancelled?: { reason: string };
  rate: RateState;
  /** RolloutSpec.window: the window open now or the next one, as the activity computed it. */
  window?: { opensAtMs: number; closesAtMs: number };
  /**
   * RolloutSpec.window.deviceTimeZone: the targets grouped by zone within each wave, and one
   * window per zone (rollout-device-windows.ts). Replaces `window` when present.
   */
  deviceWindows?: DeviceWindows;
}

/** `rampUp` is optional: rollouts started before it existed run without it (replay). */
export type RolloutLimits = Pick<RolloutSpec, 'concurrency' | 'ratePerMinute' | 'soakMs' | 'abort'> & {
  rampUp?: boolean;
  adaptive?: boolean;
  rateRamp?: RolloutSpec['rateRamp'];
  startAt?: string;
  endAt?: string;
  window?: RolloutSpec['window'];
  continuous?: RolloutSpec['continuous'];
};

/** The bucket holds one second's worth of starts (at least one): smooth, and no burst after a pause. */
export function rateCapacity(ratePerMinute: number): number {
  return Math.max(1, Math.ceil(ratePerMinute / 60));
}

export function newProgress(
  targetCount: number,
  spec: Pick<RolloutSpec, 'canary' | 'waves' | 'approvalAfter' | 'ratePerMinute'> & {
    adaptive?: boolean;
    concurrency?: number;
    options?: { ackTimeoutMs: number };
    abort?: { minFinished: number };
  },
  nowMs: number,
): RolloutProgress {
  const adaptive =
    spec.adaptive === true && spec.concurrency !== undefined && spec.options
      ? (() => {
          const policy = adaptivePolicy(spec.concurrency, spec.options.ackTimeoutMs);
          return { policy, state: newAdaptiveState(policy, Math.max(10, spec.abort?.minFinished ?? 10)) };
        })()
      : undefined;
  return {
    ...(adaptive ? { adaptive } : {}),
    waves: planWaves(targetCount, spec).map((w) => ({ ...w, counts: emptyCounts(w.end - w.start) })),
    current: 0,
    inFlight: [],
    approved: [],
    rate: { tokens: spec.ratePerMinute ? rateCapacity(spec.ratePerMinute) : 0, atMs: nowMs },
  };
}

export function totalCounts(p: RolloutProgress): RolloutCounts {
  return p.waves.reduce((sum, w) => addCounts(sum, w.counts), emptyCounts());
}
