import { makeContinueAsNewFunc, patched, workflowInfo } from '@temporalio/workflow';
import type { CommandRequest, CommandSnapshot } from '../protocol/command-contract';
import { note } from './command-record';
import { CONTINUE_AS_NEW_PATCH } from './command-patches';
import type { CommandRun } from './command-run';
import type { UpdateRecord } from './command-observability';
import { now } from './workflow-clock';

/** What handing over to a new run needs of the running command (command-workflow.ts): all of its state. */
export interface ContinuingCommand {
  request: CommandRequest;
  run: CommandRun;
  update: UpdateRecord;
  /** Continue as new once a run's history has this many events (`tuning.maxHistoryEvents`). */
  maxHistoryEvents: number;
}

export interface ContinueAsNew {
  /** Time to hand over to a new run (history long enough), at a point where nothing is in flight. */
  shouldContinueAsNew(): boolean;
  /** Hands over to a new run, which picks up exactly where this one stopped. */
  continueNow(resultDeadline?: number): Promise<never>;
}

/** The command workflow's signature (command-workflow.ts), for the continue-as-new call. */
type CommandWorkflow = (input: CommandRequest) => Promise<CommandSnapshot>;

export function continueAsNew(c: ContinuingCommand): ContinueAsNew {
  const { request, run, update } = c;
  const carried = request.continued;
  const shouldContinueAsNew = () => {
    const info = workflowInfo();
    return (info.continueAsNewSuggested || info.historyLength >= c.maxHistoryEvents) && patched(CONTINUE_AS_NEW_PATCH);
  };
  const continueNow = async (resultDeadline?: number): Promise<never> => {
    const runs = (carried?.runs ?? 0) + 1;
    const info = workflowInfo();
    update(note(run.record, now(), 'continued-as-new', `run ${runs + 1} of this command starts (the last run's history had ${info.historyLength} events)`));
    // Memo (the request digest) and search attributes (DeviceId, CommandState, ...) go along
    // explicitly: the bridge finds the new run by them.
    return makeContinueAsNewFunc<CommandWorkflow>({ memo: info.memo, typedSearchAttributes: info.typedSearchAttributes })({
      ...request,
      continued: {
        record: run.record,
        runs,
        unanswered: run.unanswered,
        ...(run.presence ? { presence: run.presence } : {}),
        presenceRepublishes: run.presenceRepublishes,
        presenceBudgetNoted: run.presenceBudgetNoted,
        ...(run.firstPublishedAt !== undefined ? { firstPublishedAt: run.firstPublishedAt } : {}),
        ...(run.acknowledgedAt !== undefined ? { acknowledgedAt: run.acknowledgedAt } : {}),
        ...(resultDeadline !== undefined ? { resultDeadline } : {}),
        ...(run.resultProbes > 0 ? { resultProbes: run.resultProbes } : {}),
        ...(run.serialTurn === 'granted' ? { serialTurn: run.serialTurn } : {}),
        ...(run.watching ? { watching: run.watching } : {}),
      },
    });
  };
  return { shouldContinueAsNew, continueNow };
}
