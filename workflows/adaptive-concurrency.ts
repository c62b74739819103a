/**
 * How many device commands a rollout keeps in flight, adapted to what the system can take
 * (RolloutSpec.adaptive), with the configured `concurrency` as the ceiling. Pure: the rollout
 * workflow feeds it one sample per finished command and reads `adaptiveLimit`.
 *
 * Why: a fixed number in flight tuned on a fast machine makes every command wait in our own
 * queues (workflow tasks, the bridge, the broker) on a slower one, longer than its ack
 * timeout; the command is then published again, which adds load, which makes the next ones
 * later still (congestion collapse).
 *
 * How: the signal is each command's time from its start to its device's ack, which grows
 * with queueing long before any timeout. By Little's law, in flight = throughput × latency:
 * once the system is saturated, more in flight only adds latency. So the limit is steered
 * towards the point where that latency equals a target well under the ack timeout (a quarter
 * of it): each sample moves the limit by (limit × target / latency − limit) / limit, so over
 * one round trip (about `limit` samples) it is multiplied by target / latency, at most doubled
 * and at least halved. Fast acks therefore double it per round trip, acks at the target hold it,
 * slower ones shrink it. A hard sign of congestion (an ack later than half the ack timeout, or
 * one that needed a re-publish) cuts it by 30% at once, at most once per target interval (one
 * episode, one cut). Commands no device answered (offline, silent) say nothing and count not.
 */

export interface AdaptiveState {
  /** Commands allowed in flight, fractional so that moves can be small; read with adaptiveLimit. */
  limit: number;
  /** When the last cut happened (workflow time, ms); absent before the first. */
  lastDecreaseMs?: number;
  /** Lowest and highest whole limit so far, samples seen and cuts: the trace the bench reports. */
  min: number;
  max: number;
  samples: number;
  decreases: number;
}

export interface AdaptiveSample {
  /** From the command's start to its ack (or to its device's first answer). */
  latencyMs: number;
  /** Publishes it took; more than one means the ack did not come within the ack timeout. */
  attempts: number;
  /** Whether the device answered at all: a silent or offline device says nothing about our load. */
  answered: boolean;
}

export interface AdaptivePolicy {
  ceiling: number;
  /** The latency to steer to: a quarter of the ack timeout (at least 0.5 s). */
  targetLatencyMs: number;
  /** An ack later than this is congestion, cut at once: half the ack timeout (at least 1 s). */
  congestionLatencyMs: number;
  /** The cut's factor (0.7). */
  decrease: number;
  /** Lowest limit: a rollout always moves. */
  floor: number;
}

export function adaptivePolicy(ceiling: number, ackTimeoutMs: number): AdaptivePolicy {
  return {
    ceiling,
    targetLatencyMs: Math.max(500, Math.floor(ackTimeoutMs / 4)),
    congestionLatencyMs: Math.max(1_000, Math.floor(ackTimeoutMs / 2)),
    decrease: 0.7,
    floor: 1,
  };
}

/** Starts low, like the ramp-up: it grows as fast as commands come back in time. */
export function newAdaptiveState(policy: AdaptivePolicy, initial = 10): AdaptiveState {
  const limit = clamp(Math.min(initial, policy.ceiling), policy);
  return { limit, min: Math.floor(limit), max: Math.floor(limit), samples: 0, decreases: 0 };
}

export function adaptiveLimit(s: AdaptiveState): number {
  return Math.max(1, Math.floor(s.limit));
}

/** One finished command. */
export function observe(s: AdaptiveState, sample: AdaptiveSample, nowMs: number, policy: AdaptivePolicy): AdaptiveState {
  if (!sample.answered) return { ...s, samples: s.samples + 1 };
  let limit = s.limit;
  let { lastDecreaseMs, decreases } = s;
  const congested = sample.latencyMs > policy.congestionLatencyMs || sample.attempts > 1;
  if (congested) {
    if (lastDecreaseMs === undefined || nowMs - lastDecreaseMs >= policy.targetLatencyMs) {
      limit = clamp(s.limit * policy.decrease, policy);
      lastDecreaseMs = nowMs;
      decreases++;
    }
  } else {
    const ratio = Math.min(2, Math.max(0.5, policy.targetLatencyMs / Math.max(1, sample.latencyMs)));
    limit = clamp(s.limit + (s.limit * ratio - s.limit) / Math.max(1, s.limit), policy);
  }
  const whole = Math.floor(limit);
  return {
    limit,
    ...(lastDecreaseMs !== undefined ? { lastDecreaseMs } : {}),
    decreases,
    samples: s.samples + 1,
    min: Math.min(s.min, whole),
    max: Math.max(s.max, whole),
  };
}

function clamp(limit: number, policy: AdaptivePolicy): number {
  return Math.min(policy.ceiling, Math.max(policy.floor, limit));
}
