import { log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { CommandRequest, CommandSnapshot } from '../protocol/command-contract';
import { isTerminal, type CommandState } from '../protocol/command-state';
import { CommandNameAttribute, CommandStateAttribute, DeviceIdAttribute, RolloutIdAttribute } from '../protocol/search-attributes';
import { recordAckLatency, recordFinished, recordResultLatency } from './command-metrics';
import { describeForHumans } from './command-summary';
import { CommandStateVisibility } from './command-state-visibility';
import type { CommandRun } from './command-run';

/** The one way a command's record changes: each new state is logged, counted and shown. */
export type UpdateRecord = (next: CommandSnapshot) => void;

type ObservedRequest = Pick<CommandRequest, 'commandId' | 'deviceId' | 'name' | 'rolloutId' | 'continued'>;
type ObservedRun = Pick<CommandRun, 'record' | 'acknowledgedAt' | 'firstPublishedAt'>;

/** A new state: its log line and its metrics (the ack and result latencies, the outcome). */
function observe(request: ObservedRequest, run: ObservedRun, state: CommandState): void {
  // A log line per state change, with the IDs people search logs by (the SDK adds the
  // workflow ID and run ID, and does not log again when a workflow is replayed).
  log.info(`command ${state}`, {
    commandId: request.commandId,
    deviceId: request.deviceId,
    command: request.name,
    ...(request.rolloutId ? { rolloutId: request.rolloutId } : {}),
    state,
    attempts: run.record.attempts,
    ...(run.record.reason ? { reason: run.record.reason } : {}),
  });
  if (state === 'Acknowledged' && run.acknowledgedAt === undefined) {
    run.acknowledgedAt = Date.now();
    if (run.firstPublishedAt !== undefined) recordAckLatency(run.acknowledgedAt - run.firstPublishedAt);
  }
  if (isTerminal(state)) {
    recordFinished(state, request.name);
    if (state === 'Succeeded' || state === 'Failed') recordResultLatency(Date.now() - (run.acknowledgedAt ?? Date.now()));
  }
}

/**
 * Shows the command to operators from its start (its search attributes, its current details)
 * and returns `update`, through which every later change of its record goes. `lean`: since
 * LEAN_HISTORY_PATCH (command-patches.ts).
 */
export function observeCommand(request: ObservedRequest, run: ObservedRun, lean: boolean): UpdateRecord {
  const carried = request.continued;
  /** The CommandState search attribute: upserted on each change (lean: once per activation). */
  const visibility = new CommandStateVisibility(() => run.record);
  // A continued run has logged and counted its state already.
  let observedState: CommandState | undefined = carried ? run.record.state : undefined;
  if (carried) setCurrentDetails(describeForHumans(run.record));
  const update = (next: CommandSnapshot) => {
    run.record = next;
    if (run.record.state === observedState) return;
    observedState = run.record.state;
    observe(request, run, run.record.state);
    setCurrentDetails(describeForHumans(run.record));
    if (lean) visibility.showSoon();
    else visibility.show();
  };

  const initial: SearchAttributeUpdatePair[] = [
    { key: DeviceIdAttribute, value: request.deviceId },
    { key: CommandNameAttribute, value: request.name },
  ];
  if (request.rolloutId) initial.push({ key: RolloutIdAttribute, value: request.rolloutId });
  if (lean) {
    // DcoClient and the rollout set all four at start; upsert only what a caller left out.
    initial.push({ key: CommandStateAttribute, value: run.record.state });
    const given = workflowInfo().typedSearchAttributes;
    const missing = initial.filter((pair) => given.get(pair.key) !== pair.value);
    if (missing.length > 0) upsertSearchAttributes(missing);
    visibility.shown(run.record.state); // nothing more to upsert for `Created`
  } else {
    upsertSearchAttributes(initial);
  }
  update(run.record);
  return update;
}
