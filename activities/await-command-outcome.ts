import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { commandWorkflowId, type CommandSnapshot } from '../protocol/command-contract';
import type { CommandState } from '../protocol/command-state';
import type { RolloutActivities } from '../protocol/rollout-contract';

/**
 * For a repeated rollout: the command for this device already exists (from an earlier run),
 * so we wait for its outcome instead of sending the device the command again.
 */
export function createAwaitCommandOutcome(client: Client): Pick<RolloutActivities, 'awaitCommandOutcome'> {
  return {
    async awaitCommandOutcome(commandId: string): Promise<CommandState> {
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), 10_000);
      try {
        const handle = client.workflow.getHandle(commandWorkflowId(commandId));
        const outcome = (await Promise.race([handle.result(), ctx.cancelled])) as CommandSnapshot;
        return outcome.state;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'Failed';
        // Terminated, timed out, or failed outside the command lifecycle: counted like a child
        // that failed in this run (the rollout's outcomeAfterFailure). Rethrowing would make
        // Temporal retry this activity for as long as the rollout lives.
        if (err instanceof WorkflowFailedError) return 'Failed';
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
  };
}
