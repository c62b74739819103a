import type { WorkflowClient } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { COMMAND_WORKFLOW_TYPE } from '../protocol/command-contract';
import { isTerminal, type CommandState } from '../protocol/command-state';
import { rolloutWorkflowId, type RolloutInput } from '../protocol/rollout-contract';
import type { RolloutSpec } from '../protocol/rollout-spec';
import { CommandAttemptsAttribute, CommandStateAttribute, DeviceIdAttribute } from '../protocol/search-attributes';

/**
 * What happened to every device of a rollout, for `dco rollout report` and follow-up rollouts.
 * It reads visibility (the commands' DeviceId, CommandState and CommandAttempts, a page of
 * 1,000 per call) and the rollout's own input (its targets), never each command's history, so
 * a report of 100,000 devices is about 100 list calls.
 */

/** A device's line in the report. */
export interface RolloutReportRow {
  deviceId: string;
  /** Absent for a target that got no command (the rollout ended, was cancelled or aborted first). */
  commandId?: string;
  /**
   * The command's state (CommandState), `NotStarted` for a target without a command, or
   * `Terminated` for a command stopped by hand before it reached a state of its own.
   */
  state: CommandState | 'NotStarted' | 'Terminated';
  /** Publishes, once the command ended (commands that ended before CommandAttempts existed have none). */
  attempts?: number;
  startedAt?: string;
  endedAt?: string;
}

export const REPORT_STATES = [
  'Created',
  'Sent',
  'Acknowledged',
  'Succeeded',
  'Rejected',
  'Failed',
  'TimedOut',
  'Expired',
  'Cancelled',
  'NotStarted',
  'Terminated',
] as const;
export type ReportState = (typeof REPORT_STATES)[number];

/** `timed-out` → `TimedOut`, as `--only` spells states. */
export function reportStateOf(kebab: string): ReportState | undefined {
  const camel = kebab
    .trim()
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join('');
  return REPORT_STATES.find((s) => s.toLowerCase() === camel.toLowerCase());
}

export const kebabOf = (state: ReportState): string => state.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * The rollout's spec as its current run got it (the first event of that run's history: one
 * event, not the history). The targets are in it whatever generation the rollout is in.
 */
export async function rolloutSpecOf(workflows: WorkflowClient, rolloutId: string): Promise<RolloutSpec> {
  const { history } = await workflows.workflowService.getWorkflowExecutionHistory({
    namespace: workflows.options.namespace,
    execution: { workflowId: rolloutWorkflowId(rolloutId) },
    maximumPageSize: 1,
  });
  const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`rollout ${rolloutId}: its start event carries no input`);
  return defaultPayloadConverter.fromPayload<RolloutInput>(payload).spec;
}

/**
 * Every target's row, streamed: the commands as visibility lists them, a page at a time, then
 * the targets that got no command. Each device appears once (a command that continued as new
 * is listed by its latest run only).
 */
export async function* rolloutReport(workflows: WorkflowClient, rolloutId: string, targets?: readonly string[]): AsyncGenerator<RolloutReportRow> {
  const wanted = targets ?? (await rolloutSpecOf(workflows, rolloutId)).targets;
  const seen = new Set<string>();
  // The rolloutId was checked against its pattern (no quotes) by RolloutClient.get.
  const query = `WorkflowType = '${COMMAND_WORKFLOW_TYPE}' AND RolloutId = '${rolloutId}' AND ExecutionStatus != 'ContinuedAsNew'`;
  for await (const w of workflows.list({ query })) {
    const deviceId = w.typedSearchAttributes.get(DeviceIdAttribute);
    if (deviceId === undefined || seen.has(deviceId)) continue;
    seen.add(deviceId);
    const shown = (w.typedSearchAttributes.get(CommandStateAttribute) ?? 'Created') as CommandState;
    const running = w.status.name === 'RUNNING';
    const state: RolloutReportRow['state'] = running || isTerminal(shown) ? shown : 'Terminated';
    const attempts = w.typedSearchAttributes.get(CommandAttemptsAttribute);
    yield {
      deviceId,
      commandId: w.workflowId.replace(/^command-/, ''),
      state,
      ...(attempts !== undefined ? { attempts } : {}),
      startedAt: w.startTime.toISOString(),
      ...(w.closeTime ? { endedAt: w.closeTime.toISOString() } : {}),
    };
  }
  for (const deviceId of wanted) if (!seen.has(deviceId)) yield { deviceId, state: 'NotStarted' };
}

const CSV_COLUMNS = ['deviceId', 'commandId', 'state', 'attempts', 'startedAt', 'endedAt'] as const;

/** RFC 4180: quote a field only when it needs it. Device and command IDs never do; kept safe anyway. */
function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvHeader = (): string => CSV_COLUMNS.join(',') + '\n';
export const csvLine = (r: RolloutReportRow): string => CSV_COLUMNS.map((c) => csvField(r[c])).join(',') + '\n';
