import { log, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { rolloutStatusQuery, type RolloutStatusView } from '../protocol/rollout-contract';
import { COMMAND_NAME_PATTERN } from '../protocol/id-patterns';
import { CommandNameAttribute } from '../protocol/search-attributes';
import { describeRollout } from './rollout-description';

/** Ends a rollout whose spec is invalid: `aborted` with the reason, no command started. */
export function refuseInvalidRollout(raw: unknown, reason: string): RolloutStatusView {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const targets = Array.isArray(s.targets) ? s.targets.length : 0;
  const zero = { pending: 0, inFlight: 0, succeeded: 0, failed: 0, rejected: 0, timedOut: 0, expired: 0, cancelled: 0 };
  const view: RolloutStatusView = {
    rolloutId: typeof s.rolloutId === 'string' ? s.rolloutId.slice(0, 63) : workflowInfo().workflowId.replace(/^rollout-/, ''),
    command: typeof s.name === 'string' ? s.name.slice(0, 64) : '',
    targets,
    state: 'aborted',
    currentWave: undefined,
    waves: [],
    overall: { ...zero, pending: targets },
    abortReason: reason,
    generation: 0,
  };
  setHandler(rolloutStatusQuery, () => view);
  if (COMMAND_NAME_PATTERN.test(view.command)) upsertSearchAttributes([{ key: CommandNameAttribute, value: view.command }]);
  setCurrentDetails(describeRollout(view));
  log.warn('rollout aborted', { rolloutId: view.rolloutId, command: view.command, state: 'aborted', reason });
  return view;
}
