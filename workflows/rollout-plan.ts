/**
 * Pure logic of a fleet rollout: the decision what to do next, and the record of commands
 * started and finished, on top of its progress (rollout-progress.ts), its start limits
 * (rollout-start-limits.ts: concurrency, rate, window), waves (rollout-waves.ts), counts
 * (rollout-counts.ts) and abort rule (rollout-abort-rule.ts). What changes the progress from
 * outside has files of its own: operator controls (rollout-operator-controls.ts), the end time
 * (rollout-end-time.ts) and the devices a continuous rollout finds (rollout-joined-targets.ts).
 * No Temporal API, no I/O, no clock (time is passed in), no randomness: the rollout workflow
 * calls these functions and stays deterministic, and the whole state (RolloutProgress) is small
 * plain JSON that survives continue-as-new.
 */
import type { CommandState } from '../protocol/command-state';
import { shouldAbort } from './rollout-abort-rule';
import { outcomeKey } from './rollout-counts';
import { nextOpening, openPending, recordZoneWindow, takeOpen, zonesToFind, type ZoneWindow } from './rollout-device-windows';
import { observe, type AdaptiveSample } from './adaptive-concurrency';
import { totalCounts, type RolloutLimits, type RolloutProgress, type WaveProgress } from './rollout-progress';
import { allowedToStart, currentRatePerMinute, inFlightLimit, refilled } from './rollout-start-limits';

// ---- commands started and finished -------------------------------------------------------

/**
 * Marks up to `count` commands as started (never more than allowedToStart) and returns the
 * target indexes to start, in target order (with per-device windows: those whose window is open).
 */
export function recordStarted(p: RolloutProgress, count: number, nowMs: number, spec: RolloutLimits): { progress: RolloutProgress; targets: number[] } {
  const n = Math.min(Math.max(0, Math.floor(count)), allowedToStart(p, nowMs, spec));
  if (n === 0) return { progress: p, targets: [] };
  const wave = p.waves[p.current];
  let deviceWindows = p.deviceWindows;
  let targets: number[];
  if (deviceWindows) ({ deviceWindows, targets } = takeOpen(deviceWindows, wave, n, nowMs));
  else {
    const first = wave.end - wave.counts.pending;
    targets = Array.from({ length: n }, (_, i) => first + i);
  }
  const waves = p.waves.map((w) =>
    w.index === wave.index ? { ...w, counts: { ...w.counts, pending: w.counts.pending - n, inFlight: w.counts.inFlight + n } } : w,
  );
  let rate = p.rate;
  const perMinute = currentRatePerMinute(p, spec);
  if (perMinute) {
    const r = refilled(p.rate, nowMs, perMinute);
    rate = { tokens: Math.max(0, r.tokens - n), atMs: r.atMs };
  }
  // Without per-device windows targets start in order, always above every earlier one, so
  // appending keeps inFlight sorted; with them a zone whose window opens later starts below.
  const inFlight = deviceWindows ? [...p.inFlight, ...targets].sort((a, b) => a - b) : [...p.inFlight, ...targets];
  return { progress: { ...p, waves, rate, inFlight, ...(deviceWindows ? { deviceWindows } : {}) }, targets };
}

function indexOf(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === value) return mid;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * A started command ended in `state`. Idempotent: a repeated or unknown finish, or a state that
 * is not terminal, changes nothing. Checks the abort rule; once aborted, later finishes are still
 * counted but the first reason stays.
 */
export function recordFinished(
  p: RolloutProgress,
  targetIndex: number,
  state: CommandState,
  nowMs: number,
  spec: RolloutLimits,
  sample?: AdaptiveSample,
): RolloutProgress {
  const key = outcomeKey(state);
  const at = indexOf(p.inFlight, targetIndex);
  if (!key || at < 0) return p;
  if (p.adaptive && sample) p = { ...p, adaptive: { ...p.adaptive, state: observe(p.adaptive.state, sample, nowMs, p.adaptive.policy) } };
  const wave = p.waves.find((w) => targetIndex >= w.start && targetIndex < w.end);
  if (!wave) return p;
  const counts = { ...wave.counts, inFlight: wave.counts.inFlight - 1, [key]: wave.counts[key] + 1 };
  const updated: WaveProgress = { ...wave, counts };
  if (counts.pending === 0 && counts.inFlight === 0) updated.completedAtMs = nowMs;
  const inFlight = [...p.inFlight.slice(0, at), ...p.inFlight.slice(at + 1)];
  const next: RolloutProgress = { ...p, inFlight, waves: p.waves.map((w) => (w.index === wave.index ? updated : w)) };
  if (next.aborted || next.cancelled) return next;
  const decision = shouldAbort(updated.name, counts, totalCounts(next), spec.abort);
  return decision.abort ? { ...next, aborted: { reason: decision.reason } } : next;
}

// ---- the state machine -------------------------------------------------------------------

export type NextAction =
  | { kind: 'start-more'; count: number }
  | { kind: 'wait-in-flight' }
  | { kind: 'wait-rate'; untilMs: number }
  | { kind: 'wait-start'; untilMs: number }
  | { kind: 'find-window' }
  | { kind: 'wait-window'; untilMs: number }
  | { kind: 'soak'; untilMs: number }
  | { kind: 'await-approval'; wave: number }
  | { kind: 'advance-wave' }
  | { kind: 'wait-devices' }
  | { kind: 'paused'; reason: string }
  | { kind: 'done' }
  | { kind: 'aborted'; reason: string }
  | { kind: 'cancelled'; reason: string };

function isComplete(w: WaveProgress): boolean {
  return w.counts.pending === 0 && w.counts.inFlight === 0;
}

/**
 * What the workflow should do now. First matching rule wins:
 *
 *  1. cancelled or aborted:  in flight > 0 → wait-in-flight (they finish and are counted);
 *                            else → cancelled / aborted (final)
 *  2. last wave complete     → done (final); a continuous rollout before its end time:
 *                              wait-devices (until a look finds more: addTargets)
 *     before startAt         → wait-start {untilMs}  (a timer; RolloutSpec.startAt)
 *  3. paused                 → paused (wait for resume/cancel; in-flight commands go on)
 *  4. current wave has pending devices:
 *       with a maintenance window (RolloutSpec.window):
 *         none known, or it closed → find-window       (an activity computes it; recordWindow)
 *         not open yet           → wait-window {untilMs} (a timer; in-flight ones finish meanwhile)
 *       with per-device windows (window.deviceTimeZone), per zone with pending devices:
 *         a zone's window unknown or closed → find-window (windowsToFind; recordDeviceWindow)
 *         no zone's window open  → wait-window {untilMs: the first to open}
 *       allowedToStart > 0   → start-more {count}   (then recordStarted)
 *       concurrency is full  → wait-in-flight        (until recordFinished; while a
 *                              wave ramps up, its limit is below the concurrency)
 *       rate limit           → wait-rate {untilMs}   (a timer)
 *  5. commands in flight     → wait-in-flight
 *  6. wave complete:
 *       soak not over        → soak {untilMs}        (a timer from the wave's last finish)
 *       gate not approved    → await-approval {wave} (until approve)
 *       else                 → advance-wave          (then advanceWave)
 *
 * "wait-*" and "soak" also end early on any signal; the workflow then asks again.
 */
export function nextAction(p: RolloutProgress, nowMs: number, spec: RolloutLimits): NextAction {
  const inFlight = p.inFlight.length;
  if (p.cancelled) return inFlight > 0 ? { kind: 'wait-in-flight' } : { kind: 'cancelled', reason: p.cancelled.reason };
  if (p.aborted) return inFlight > 0 ? { kind: 'wait-in-flight' } : { kind: 'aborted', reason: p.aborted.reason };
  const wave = p.waves[p.current];
  if (!wave || (p.current === p.waves.length - 1 && isComplete(wave))) {
    const ended = spec.endAt !== undefined && nowMs >= Date.parse(spec.endAt);
    return spec.continuous && !ended ? { kind: 'wait-devices' } : { kind: 'done' };
  }
  const startAtMs = spec.startAt ? Date.parse(spec.startAt) : undefined;
  if (startAtMs !== undefined && nowMs < startAtMs) return { kind: 'wait-start', untilMs: startAtMs };
  if (p.paused) return { kind: 'paused', reason: p.paused.reason };
  if (wave.counts.pending > 0) {
    if (p.deviceWindows) {
      if (zonesToFind(p.deviceWindows, wave, nowMs).length > 0) return { kind: 'find-window' };
      // Unreachable when every pending device has a known window; a minute's wait, not a spin.
      if (openPending(p.deviceWindows, wave, nowMs) === 0) return { kind: 'wait-window', untilMs: nextOpening(p.deviceWindows, wave, nowMs) ?? nowMs + 60_000 };
    } else if (spec.window) {
      if (!p.window || nowMs >= p.window.closesAtMs) return { kind: 'find-window' };
      if (nowMs < p.window.opensAtMs) return { kind: 'wait-window', untilMs: p.window.opensAtMs };
    }
    const count = allowedToStart(p, nowMs, spec);
    if (count > 0) return { kind: 'start-more', count };
    const rate = currentRatePerMinute(p, spec);
    if (inFlight >= inFlightLimit(wave, spec) || !rate) return { kind: 'wait-in-flight' };
    const tokens = refilled(p.rate, nowMs, rate).tokens;
    return { kind: 'wait-rate', untilMs: nowMs + Math.max(1, Math.ceil(((1 - tokens) * 60_000) / rate)) };
  }
  if (inFlight > 0) return { kind: 'wait-in-flight' };
  const soakUntil = (wave.completedAtMs ?? nowMs) + spec.soakMs;
  if (nowMs < soakUntil) return { kind: 'soak', untilMs: soakUntil };
  if (wave.approvalAfter && !p.approved.includes(wave.index)) return { kind: 'await-approval', wave: wave.index };
  return { kind: 'advance-wave' };
}

/** Per-device windows: the zones (numbers) whose window the workflow must compute now; none without them. */
export function windowsToFind(p: RolloutProgress, nowMs: number): number[] {
  const wave = p.waves[p.current];
  return p.deviceWindows && wave ? zonesToFind(p.deviceWindows, wave, nowMs) : [];
}

/** Per-device windows: the window of zone `zone` (open now, or the next one), as the activity computed it. */
export function recordDeviceWindow(p: RolloutProgress, zone: number, window: ZoneWindow): RolloutProgress {
  return p.deviceWindows ? { ...p, deviceWindows: recordZoneWindow(p.deviceWindows, zone, window) } : p;
}

/** The maintenance window the activity found (open now, or the next one). */
export function recordWindow(p: RolloutProgress, window: { opensAtMs: number; closesAtMs: number }): RolloutProgress {
  return { ...p, window };
}

/** Moves to the next wave when nextAction says advance-wave; otherwise changes nothing. */
export function advanceWave(p: RolloutProgress, nowMs: number, spec: RolloutLimits): RolloutProgress {
  return nextAction(p, nowMs, spec).kind === 'advance-wave' ? { ...p, current: p.current + 1 } : p;
}
