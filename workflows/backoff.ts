import type { BackoffOptions } from '../protocol/command-options';

/**
 * Wait before publish number `attempt + 1`, after `attempt` publishes went unanswered.
 * Exponential with jitter, never above maxMs. `random` is injected: inside a workflow Math.random is
 * deterministic (seeded by Temporal), in tests it is a fixed value.
 */
export function backoffDelayMs(attempt: number, b: BackoffOptions, random: () => number): number {
  const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.multiplier, Math.max(0, attempt - 1)));
  const spread = base * b.jitter * (2 * random() - 1);
  return Math.min(b.maxMs, Math.max(0, Math.round(base + spread)));
}
