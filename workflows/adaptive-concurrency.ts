/**
 * How many device commands a rollout keeps in flight, adapted to what the system can take
 * (RolloutSpec.adaptive): additive increase, multiplicative decrease (AIMD, as TCP does), with
 * the configured `concurrency` as the ceiling. Pure: the rollout workflow feeds it one sample
 * per finished command and reads `limit`.
 *
 * Why: a fixed number in flight tuned on a fast machine makes every command wait in our own
 * queues (workflow tasks, the bridge, the broker) on a slower one, longer than its ack
 * timeout; the command is then published again, which adds load, which makes the next ones
 * later still (congestion collapse). The signal here is the time from a command's start to its
 * device's ack: it grows with queueing long before any timeout. While it stays under the target
 * (a fraction of the ack timeout) the limit grows (doubling per round trip until the first
 * congestion, then about one per round trip); once a command
 * takes longer, or needed a second publish, the limit shrinks by a factor, at most once per
 * target interval (one congestion episode, one decrease).
 */

export interface AdaptiveState {
  /** Commands allowed in flight, fractional so increases can be small; read with `Math.floor`. */
  limit: number;
  /** When the last decrease happened (workflow time, ms); absent before the first. */
  lastDecreaseMs?: number;
  /** Lowest and highest whole limit so far, and samples seen: the trace the bench reports. */
  min: number;
  max: number;
  samples: number;
  decreases: number;
}

export interface AdaptiveSample {
  /** From the command's start to its ack (or to its end when it was never acknowledged). */
  latencyMs: number;
  /** Publishes it took; more than one means the ack did not come within the ack timeout. */
  attempts: number;
  /** Whether the device answered at all: a silent or offline device says nothing about our load. */
  answered: boolean;
}

export interface AdaptivePolicy {
  ceiling: number;
  /** A command acknowledged later than this counts as congestion (default: ackTimeoutMs / 2). */
  targetLatencyMs: number;
  /** Multiplicative decrease factor (0.7). */
  decrease: number;
  /** Lowest limit: a rollout always moves. */
  floor: number;
}

export function adaptivePolicy(ceiling: number, ackTimeoutMs: number): AdaptivePolicy {
  return { ceiling, targetLatencyMs: Math.max(500, Math.floor(ackTimeoutMs / 2)), decrease: 0.7, floor: 1 };
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
  const congested = sample.latencyMs > policy.targetLatencyMs || sample.attempts > 1;
  let limit = s.limit;
  let { lastDecreaseMs, decreases } = s;
  if (congested) {
    if (lastDecreaseMs === undefined || nowMs - lastDecreaseMs >= policy.targetLatencyMs) {
      limit = clamp(s.limit * policy.decrease, policy);
      lastDecreaseMs = nowMs;
      decreases++;
    }
  } else if (decreases === 0) {
    // Slow start, until the first sign of congestion: +1 per command back in time, which
    // doubles the limit every round trip.
    limit = clamp(s.limit + 1, policy);
  } else {
    // Then about +1 per round trip: each of the `limit` commands in flight adds 1/limit.
    limit = clamp(s.limit + 1 / Math.max(1, s.limit), policy);
  }
  const whole = Math.floor(limit);
  return { limit, ...(lastDecreaseMs !== undefined ? { lastDecreaseMs } : {}), decreases, samples: s.samples + 1, min: Math.min(s.min, whole), max: Math.max(s.max, whole) };
}

function clamp(limit: number, policy: AdaptivePolicy): number {
  return Math.min(policy.ceiling, Math.max(policy.floor, limit));
}
