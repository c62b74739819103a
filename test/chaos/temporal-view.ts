import pMap from 'p-map';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { COMMAND_WORKFLOW_TYPE, commandWorkflowId, snapshotQuery, type CommandSnapshot } from '../../protocol/command-contract';
import { CommandHandle } from '../../client/dco-client';
import type { TemporalFacts } from './checker';
import { withTimeout } from './command-sender';

/** Open and closed command workflows right now (visibility: eventually consistent). */
export async function countCommands(client: Client): Promise<{ total: number; running: number }> {
  const base = `WorkflowType = '${COMMAND_WORKFLOW_TYPE}'`;
  const [total, running] = await Promise.all([
    withTimeout(client.workflow.count(base), 5_000),
    withTimeout(client.workflow.count(`${base} AND ExecutionStatus = 'Running'`), 5_000),
  ]);
  return { total: total.count, running: running.count };
}

/** What Temporal says about one command: execution status and, when known, the command's state. */
export async function describeCommand(client: Client, commandId: string): Promise<TemporalFacts> {
  const handle = client.workflow.getHandle(commandWorkflowId(commandId));
  let status: string;
  let durationMs: number | undefined;
  try {
    const d = await withTimeout(handle.describe(), 10_000);
    status = d.status.name;
    if (d.closeTime) durationMs = d.closeTime.getTime() - d.startTime.getTime();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { commandId, status: 'NOT_FOUND' };
    throw err;
  }
  let snapshot: CommandSnapshot | undefined;
  if (status === 'COMPLETED') snapshot = await withTimeout(handle.result() as Promise<CommandSnapshot>, 10_000);
  else if (status === 'RUNNING') snapshot = await withTimeout(handle.query(snapshotQuery), 10_000).catch(() => undefined);
  const late = snapshot?.state === 'TimedOut' ? await withTimeout(new CommandHandle(commandId, handle).lateAnswers(), 10_000) : undefined;
  return {
    commandId,
    status,
    ...(late ? { lateOutcome: late.lateOutcome } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(snapshot
      ? {
          state: snapshot.state,
          ...(snapshot.reason ? { reason: snapshot.reason } : {}),
          ...(snapshot.error ? { errorCode: snapshot.error.code } : {}),
          expiresAtMs: Date.parse(snapshot.expiresAt),
          attempts: snapshot.attempts,
          events: [...new Set(snapshot.history.map((h) => h.event))],
        }
      : {}),
  };
}

/** Describes every command, a few at a time, retrying transient errors. */
export async function collectTemporalFacts(client: Client, commandIds: readonly string[], concurrency = 16): Promise<Map<string, TemporalFacts>> {
  const out = new Map<string, TemporalFacts>();
  const describeWithRetries = async (id: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return out.set(id, await describeCommand(client, id));
      } catch (err) {
        if (attempt >= 10) return out.set(id, { commandId: id, status: `UNREADABLE: ${(err as Error).message}` });
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  };
  await pMap(commandIds, describeWithRetries, { concurrency });
  return out;
}
