import { continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { RolloutRunState } from './rollout-run-state';
import type { rolloutWorkflow } from './rollout-workflow';

/**
 * Keeps each run's history well below Temporal's limits. A run stops starting commands when
 * Temporal suggests continue-as-new (or at this many events), lets its in-flight commands
 * finish, and continues as a new run with the same progress.
 */
const MAX_EVENTS_PER_RUN = 8_000;

/** Whether this run's history is long enough to stop starting commands and continue as new. */
export function historyIsLong(): boolean {
  return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_EVENTS_PER_RUN;
}

/** Continues as a new run that carries the targets (a continuous rollout's grow), the progress and the looks. */
export function carryOn(run: Pick<RolloutRunState, 'spec' | 'targets' | 'progress' | 'generation' | 'scan'>): Promise<never> {
  const { spec, targets, progress, generation, scan } = run;
  return continueAsNew<typeof rolloutWorkflow>({ spec: { ...spec, targets }, carried: { progress, generation: generation + 1, ...(scan ? { scan } : {}) } });
}
