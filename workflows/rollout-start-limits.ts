/**
 * How many commands a rollout may start now: the free concurrency (ramp-up, adaptive), the
 * rate limit's token bucket (and its ramp) and the maintenance window. Pure, as the rest of the
 * planner (rollout-plan.ts).
 */
import { adaptiveLimit } from './adaptive-concurrency';
import { sizeOf } from './rollout-counts';
import { openPending } from './rollout-device-windows';
import { rateCapacity, totalCounts, type RateState, type RolloutLimits, type RolloutProgress, type WaveProgress } from './rollout-progress';
import { EPSILON } from './rollout-waves';

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

/** The bucket at `nowMs`: refilled at `ratePerMinute` since it was last counted, up to its capacity. */
export function refilled(rate: RateState, nowMs: number, ratePerMinute: number): RateState {
  const elapsed = Math.max(0, nowMs - rate.atMs);
  return { tokens: Math.min(rateCapacity(ratePerMinute), rate.tokens + (elapsed * ratePerMinute) / 60_000), atMs: Math.max(nowMs, rate.atMs) };
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
