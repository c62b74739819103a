/** The abort rule (RolloutSpec.abort): when a wave's or the whole rollout's failures stop it, and the reason it gives. Pure. */
import type { AbortRule } from '../protocol/rollout-spec';
import { failureCount, sizeOf, verdictCount, type RolloutCounts } from './rollout-counts';

export type AbortDecision = { abort: false } | { abort: true; reason: string };

/** 0.3 → "30%", 1/3 → "33.3%". */
export function formatPercent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/**
 * Verdicts needed before a scope may abort: `minFinished`, or fewer when the scope cannot
 * produce that many (small wave, or devices that ended without a verdict): then the scope is
 * judged once all of it has finished.
 */
export function verdictsNeeded(c: RolloutCounts, rule: Pick<AbortRule, 'minFinished' | 'countExpiredAsFailure'>): number {
  const withoutVerdict = c.cancelled + (rule.countExpiredAsFailure ? 0 : c.expired);
  return Math.min(rule.minFinished, sizeOf(c) - withoutVerdict);
}

/** AbortRule.byOutcome: its keys, in the order they are judged, and how a reason names them. */
const OUTCOME_CRITERIA = [
  ['failed', 'failed'],
  ['rejected', 'were rejected'],
  ['timedOut', 'timed out'],
  ['expired', 'expired'],
] as const;

function judge(scope: string, c: RolloutCounts, rule: AbortRule): AbortDecision {
  const verdicts = verdictCount(c, rule);
  const ready = verdicts > 0 && verdicts >= verdictsNeeded(c, rule);
  const overall = ready ? judgeFailureShare(scope, c, rule, verdicts) : ({ abort: false } as const);
  if (overall.abort) return overall;
  for (const [key, label] of OUTCOME_CRITERIA) {
    const threshold = rule.byOutcome?.[key];
    if (threshold === undefined) continue;
    // Expired commands are verdicts of the `expired` criterion even when they are no failures.
    const extra = key === 'expired' && !rule.countExpiredAsFailure ? c.expired : 0;
    const judged = verdicts + extra;
    const needed = extra > 0 ? Math.min(rule.minFinished, sizeOf(c) - c.cancelled) : verdictsNeeded(c, rule);
    if (judged === 0 || judged < needed) continue;
    const share = c[key] / judged;
    if (share > threshold) {
      return {
        abort: true,
        reason: `${scope}: ${c[key]} of ${judged} finished commands ${label} (${formatPercent(share)} > ${formatPercent(threshold)}, the limit for ${key})`,
      };
    }
  }
  return { abort: false };
}

function judgeFailureShare(scope: string, c: RolloutCounts, rule: AbortRule, verdicts: number): AbortDecision {
  const failures = failureCount(c, rule);
  // Division, not multiplication: 3/30 and 0.1 round to the same double, 0.1 × 30 does not equal 3.
  const share = failures / verdicts;
  if (!(share > rule.failureShare)) return { abort: false };
  const parts: Array<[string, number]> = [
    ['failed', c.failed],
    ['rejected', c.rejected],
    ['timed out', c.timedOut],
    ['expired', rule.countExpiredAsFailure ? c.expired : 0],
  ];
  const detail = parts
    .filter(([, n]) => n > 0)
    .map(([label, n]) => `${label} ${n}`)
    .join(', ');
  return {
    abort: true,
    reason: `${scope}: ${failures} of ${verdicts} finished commands failed (${formatPercent(share)} > ${formatPercent(rule.failureShare)}; ${detail})`,
  };
}

/** The wave is judged first: its reason names the wave, which is what an operator looks at. */
export function shouldAbort(waveName: string, waveCounts: RolloutCounts, totalCounts: RolloutCounts, rule: AbortRule): AbortDecision {
  if (rule.scope !== 'overall') {
    const d = judge(`wave ${waveName}`, waveCounts, rule);
    if (d.abort) return d;
  }
  if (rule.scope !== 'wave') return judge('overall', totalCounts, rule);
  return { abort: false };
}
