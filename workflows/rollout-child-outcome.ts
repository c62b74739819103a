import { ActivityFailure, ChildWorkflowFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { CommandSnapshot } from '../protocol/command-contract';
import type { CommandState } from '../protocol/command-state';
import type { RolloutActivities } from '../protocol/rollout-contract';
import type { AdaptiveSample } from './adaptive-concurrency';

/** What a rollout counts when one of its device commands ends, and what it learns from it. */

/** A command this rollout (or an earlier run of it) started: waits for its end from outside (an activity), for as long as it takes. */
const { awaitCommandOutcome } = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** The outcome to count when a child could not be started or did not complete normally. */
export async function outcomeAfterFailure(err: unknown, commandId: string): Promise<CommandState> {
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    // This rollout (or an earlier run of it) already sent this device the command.
    try {
      return await awaitCommandOutcome(commandId);
    } catch (e) {
      if (e instanceof ActivityFailure) return 'Failed';
      throw e;
    }
  }
  if (err instanceof ChildWorkflowFailure) return isCancellation(err) ? 'Cancelled' : 'Failed';
  throw err;
}

/**
 * What a finished command says about the system's load (adaptive concurrency): the time from
 * the rollout starting it to its device's ack. Commands no device answered say nothing.
 */
export function adaptiveSampleOf(outcome: CommandSnapshot, startedAtMs: number): AdaptiveSample {
  const answeredAt = outcome.history.find((e) => e.state === 'Acknowledged' || e.state === 'Rejected' || e.state === 'Succeeded' || e.state === 'Failed')?.at;
  const answered = answeredAt !== undefined && outcome.history.some((e) => e.event.startsWith('ack-') || e.event.startsWith('result-'));
  return { latencyMs: answeredAt ? Date.parse(answeredAt) - startedAtMs : 0, attempts: outcome.attempts, answered };
}
