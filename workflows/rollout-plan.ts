/**
 * Pure logic of a fleet rollout: its progress, rate limiting and the decision what to do next,
 * on top of its waves (rollout-waves.ts), counts (rollout-counts.ts) and abort rule
 * (rollout-abort-rule.ts). What changes the progress from outside has files of its own:
 * operator controls (rollout-operator-controls.ts), the end time (rollout-end-time.ts) and the
 * devices a continuous rollout finds (rollout-joined-targets.ts). No Temporal API, no I/O, no clock (time is passed in), no
 * randomness: the rollout workflow calls these functions and stays deterministic, and the
 * whole state (RolloutProgress) is small plain JSON that survives continue-as-new.
 */
import type { CommandState } from '../protocol/command-state';
import type { RolloutSpec } from '../protocol/rollout-spec';
import { shouldAbort } from './rollout-abort-rule';
import { addCounts, emptyCounts, outcomeKey, sizeOf, type RolloutCounts } from './rollout-counts';
import { EPSILON, planWaves, type PlannedWave } from './rollout-waves';
import { nextOpening, openPending, recordZoneWindow, takeOpen, zonesToFind, type DeviceWindows, type ZoneWindow } from './rollout-device-windows';
import { adaptiveLimit, adaptivePolicy, newAdaptiveState, observe, type AdaptivePolicy, type AdaptiveSample, type AdaptiveState } from './adaptive-concurrency';
// ---- progress ----------------------------------------------------------------------------

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

/**
 * The rate limit now: `ratePerMinute`, or with a ramp (RolloutSpec.rateRamp) that rate times
 * `factor` per `everySucceeded` succeeded devices, up to `maxPerMinute`. Undefined: no limit.
 * The bucket refills at the current rate; it holds one second's worth, so a step up gives at
 * most one second's worth of the new rate at once.
 */
export function currentRatePerMinute(p: RolloutProgress, spec: RolloutLimits): number | undefined {
  if (!spec.ratePerMinute) return undefined;
  const ramp = spec.rateRamp;
  if (!ramp) return spec.ratePerMinute;
  const steps = Math.floor(totalCounts(p).succeeded / ramp.everySucceeded);
  return Math.min(ramp.maxPerMinute, spec.ratePerMinute * ramp.factor ** steps);
}

function refilled(rate: RateState, nowMs: number, ratePerMinute: number): RateState {
  const elapsed = Math.max(0, nowMs - rate.atMs);
  return { tokens: Math.min(rateCapacity(ratePerMinute), rate.tokens + (elapsed * ratePerMinute) / 60_000), atMs: Math.max(nowMs, rate.atMs) };
}

function isComplete(w: WaveProgress): boolean {
  return w.counts.pending === 0 && w.counts.inFlight === 0;
}

/**
 * Commands the current wave may have in flight: the concurrency, or less while the wave ramps
 * up (RolloutSpec.rampUp). The wave's first `abort.minFinished` commands are a probe: nothing
 * else starts until all of them have finished, so a bad change reaches only those. Then it
 * allows twice as many in flight as have finished. What may have started (finished + limit)
 * never shrinks, and the limit is at least 1 whenever nothing is in flight.
 */
export function inFlightLimit(wave: WaveProgress, spec: RolloutLimits, adaptive?: RolloutProgress['adaptive']): number {
  const ceiling = adaptive ? Math.min(spec.concurrency, adaptiveLimit(adaptive.state)) : spec.concurrency;
  if (spec.rampUp !== true) return ceiling;
  const probe = Math.max(1, spec.abort.minFinished);
  const finished = sizeOf(wave.counts) - wave.counts.pending - wave.counts.inFlight;
  // The probe runs whole whatever the adaptive limit: it is what the abort rule judges.
  if (finished < probe) return Math.min(spec.concurrency, probe - finished);
  return Math.min(ceiling, 2 * finished);
}

/**
 * How many commands may start now: the current wave's pending devices, bounded by the free
 * concurrency and by the rate limit's whole tokens. 0 when paused, aborted or cancelled.
 */
export function allowedToStart(p: RolloutProgress, nowMs: number, spec: RolloutLimits): number {
  if (p.paused || p.aborted || p.cancelled) return 0;
  const wave = p.waves[p.current];
  if (!wave) return 0;
  let ready = wave.counts.pending;
  if (p.deviceWindows) ready = openPending(p.deviceWindows, wave, nowMs);
  else if (spec.window && !(p.window && p.window.opensAtMs <= nowMs && nowMs < p.window.closesAtMs)) return 0;
  let n = Math.min(ready, Math.max(0, inFlightLimit(wave, spec, p.adaptive) - p.inFlight.length));
  const rate = currentRatePerMinute(p, spec);
  if (rate) n = Math.min(n, Math.floor(refilled(p.rate, nowMs, rate).tokens + EPSILON));
  return Math.max(0, n);
}

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
