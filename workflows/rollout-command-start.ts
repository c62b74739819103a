import { CancellationScope, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { commandWorkflowId, type CommandRequest } from '../protocol/command-contract';
import type { CommandState } from '../protocol/command-state';
import { CommandNameAttribute, CommandStateAttribute, DeviceIdAttribute, RolloutIdAttribute } from '../protocol/search-attributes';
import type { AdaptiveSample } from './adaptive-concurrency';
import { commandWorkflow } from './command-workflow';
import { adaptiveSampleOf, outcomeAfterFailure } from './rollout-child-outcome';
import { rolloutCommandId } from './rollout-command-ids';

/** What every device command of a rollout has in common. */
export type RolloutCommandTemplate = Pick<CommandRequest, 'name' | 'params' | 'options' | 'ordering'> & { rolloutId: string };

/** A rollout's command for one device, which must not run after `expiresAt`. */
export function rolloutCommandRequest(t: RolloutCommandTemplate, deviceId: string, expiresAt: string): CommandRequest & { rolloutId: string } {
  return {
    commandId: rolloutCommandId(t.rolloutId, deviceId),
    deviceId,
    name: t.name,
    params: t.params,
    expiresAt,
    options: t.options,
    rolloutId: t.rolloutId,
    ...(t.ordering ? { ordering: t.ordering } : {}),
  };
}

/** What a rollout counts for one device command, and what it learns from it. */
export interface RolloutCommandEnd {
  state: CommandState;
  sample?: AdaptiveSample;
}

/**
 * Starts one device command of a rollout as a child of the calling workflow (the rollout, or
 * one of its lanes) and resolves with its end. Not cancellable: cancelling the rollout stops new
 * starts, while commands already sent finish. `startedAtMs` is when the rollout decided to
 * start it: the adaptive concurrency's latency counts the way to a lane too.
 */
export function runRolloutCommand(request: CommandRequest & { rolloutId: string }, startedAtMs: number): Promise<RolloutCommandEnd> {
  return CancellationScope.nonCancellable(async () => {
    try {
      const child = await startChild(commandWorkflow, {
        workflowId: commandWorkflowId(request.commandId),
        args: [request],
        // Device commands outlive an aborted or terminated rollout: they end on their own.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `\`${request.name}\` → device \`${request.deviceId}\` (rollout ${request.rolloutId})`,
        typedSearchAttributes: [
          { key: DeviceIdAttribute, value: request.deviceId },
          { key: CommandNameAttribute, value: request.name },
          { key: CommandStateAttribute, value: 'Created' },
          { key: RolloutIdAttribute, value: request.rolloutId },
        ],
      });
      const outcome = await child.result();
      return { state: outcome.state, sample: adaptiveSampleOf(outcome, startedAtMs) };
    } catch (err) {
      return { state: await outcomeAfterFailure(err, request.commandId) };
    }
  });
}
