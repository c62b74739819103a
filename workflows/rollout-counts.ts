/** Device commands of a rollout (or a wave) counted by state class, and the shares the abort rule judges. Pure. */
import { isTerminal, type CommandState } from '../protocol/command-state';

export const COUNT_KEYS = ['pending', 'inFlight', 'succeeded', 'failed', 'rejected', 'timedOut', 'expired', 'cancelled'] as const;
export type CountKey = (typeof COUNT_KEYS)[number];
/** Device commands by state class. `pending`: not started yet; `inFlight`: started, not finished. */
export type RolloutCounts = Record<CountKey, number>;
export type OutcomeKey = Exclude<CountKey, 'pending' | 'inFlight'>;

export function emptyCounts(pending = 0): RolloutCounts {
  return { pending, inFlight: 0, succeeded: 0, failed: 0, rejected: 0, timedOut: 0, expired: 0, cancelled: 0 };
}

export function addCounts(a: RolloutCounts, b: RolloutCounts): RolloutCounts {
  const sum = emptyCounts();
  for (const k of COUNT_KEYS) sum[k] = a[k] + b[k];
  return sum;
}

/** All devices of the scope, whatever their state. */
export function sizeOf(c: RolloutCounts): number {
  return COUNT_KEYS.reduce((n, k) => n + c[k], 0);
}

/** Which counter a terminal command state goes to; undefined for a state that is not terminal. */
export function outcomeKey(state: CommandState): OutcomeKey | undefined {
  if (!isTerminal(state)) return undefined;
  const keys: Partial<Record<CommandState, OutcomeKey>> = {
    Succeeded: 'succeeded',
    Failed: 'failed',
    Rejected: 'rejected',
    TimedOut: 'timedOut',
    Expired: 'expired',
    Cancelled: 'cancelled',
  };
  return keys[state];
}

export interface FailureOptions {
  countExpiredAsFailure?: boolean;
}

/** Failed, rejected and timed out (and expired, if so configured). */
export function failureCount(c: RolloutCounts, o: FailureOptions = {}): number {
  return c.failed + c.rejected + c.timedOut + (o.countExpiredAsFailure ? c.expired : 0);
}

/**
 * Finished commands that say something about the change: succeeded or failed in one of the
 * failure ways. Cancelled ones (an operator's decision) never count, expired ones only when
 * they count as failures: otherwise offline devices would dilute the failure share.
 */
export function verdictCount(c: RolloutCounts, o: FailureOptions = {}): number {
  return c.succeeded + failureCount(c, o);
}

/** Failures over verdicts; 0 while there is no verdict. */
export function failureShare(c: RolloutCounts, o: FailureOptions = {}): number {
  const verdicts = verdictCount(c, o);
  return verdicts === 0 ? 0 : failureCount(c, o) / verdicts;
}
