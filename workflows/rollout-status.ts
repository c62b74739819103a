/** What a rollout shows (its status query, the Web UI's details, the CLI): derived from its progress, never stored. Pure. */
import { adaptiveLimit } from './adaptive-concurrency';
import type { RolloutCounts } from './rollout-counts';
import { zoneSummary, type DeviceWindows } from './rollout-device-windows';
import { nextAction, type NextAction } from './rollout-plan';
import { totalCounts, type RolloutLimits, type RolloutProgress } from './rollout-progress';
import { currentRatePerMinute } from './rollout-start-limits';

/** What the progress query returns: counts per wave and overall, where it stands and why. */
export interface RolloutStatus {
  state: NextAction['kind'];
  currentWave: string | undefined;
  waves: Array<{ name: string; start: number; end: number; approvalAfter: boolean; approved: boolean; counts: RolloutCounts }>;
  overall: RolloutCounts;
  pauseReason?: string;
  abortReason?: string;
  cancelReason?: string;
  concurrency?: { limit: number; min: number; max: number; decreases: number };
  /** The rate limit now (it grows with RolloutSpec.rateRamp); absent without one. */
  ratePerMinute?: number;
  /** Per-device windows: each zone with devices not started yet, and its window (ISO times) once known. */
  timeZones?: Array<{ timeZone: string; pending: number; opensAt?: string; closesAt?: string }>;
}

export function rolloutStatus(p: RolloutProgress, nowMs: number, spec: RolloutLimits): RolloutStatus {
  return {
    state: nextAction(p, nowMs, spec).kind,
    currentWave: p.waves[p.current]?.name,
    waves: p.waves.map((w) => ({
      name: w.name,
      start: w.start,
      end: w.end,
      approvalAfter: w.approvalAfter,
      approved: p.approved.includes(w.index),
      counts: w.counts,
    })),
    overall: totalCounts(p),
    ...(p.paused ? { pauseReason: p.paused.reason } : {}),
    ...(p.aborted ? { abortReason: p.aborted.reason } : {}),
    ...(p.cancelled ? { cancelReason: p.cancelled.reason } : {}),
    ...(spec.ratePerMinute ? { ratePerMinute: currentRatePerMinute(p, spec) } : {}),
    ...(p.deviceWindows ? { timeZones: timeZonesView(p.deviceWindows) } : {}),
    ...(p.adaptive
      ? {
          concurrency: {
            limit: Math.min(spec.concurrency, adaptiveLimit(p.adaptive.state)),
            min: p.adaptive.state.min,
            max: p.adaptive.state.max,
            decreases: p.adaptive.state.decreases,
          },
        }
      : {}),
  };
}

/** The status's list of zones still waiting: the 50 with the most devices, then by name. */
function timeZonesView(dw: DeviceWindows): NonNullable<RolloutStatus['timeZones']> {
  return zoneSummary(dw)
    .sort((a, b) => b.pending - a.pending || (a.timeZone < b.timeZone ? -1 : 1))
    .slice(0, 50)
    .map((z) => ({
      timeZone: z.timeZone,
      pending: z.pending,
      ...(z.window ? { opensAt: new Date(z.window.opensAtMs).toISOString(), closesAt: new Date(z.window.closesAtMs).toISOString() } : {}),
    }));
}
