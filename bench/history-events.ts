import type { Client } from '@temporalio/client';

/**
 * Where Temporal's work goes: history events of a sample of the device commands (median), and
 * of the rollout itself per device it reached (every run of its continue-as-new chain).
 */
export async function historyEvents(client: Client, rolloutWorkflowId: string, rolloutId: string, deviceIds: readonly string[], reached: number) {
  const sample = deviceIds.slice(0, Math.min(20, reached));
  const perCommand: number[] = [];
  for (const d of sample) {
    const desc = await client.workflow
      .getHandle(`command-${rolloutId}.${d}`)
      .describe()
      .catch(() => undefined);
    if (desc?.historyLength) perCommand.push(desc.historyLength);
  }
  perCommand.sort((a, b) => a - b);
  let rolloutEvents = 0;
  for await (const run of client.workflow.list({ query: `WorkflowId = '${rolloutWorkflowId}'` })) rolloutEvents += run.historyLength ?? 0;
  return {
    perCommandMedian: perCommand[Math.floor(perCommand.length / 2)],
    commandsSampled: perCommand.length,
    rolloutPerDevice: reached ? Math.round((rolloutEvents / reached) * 100) / 100 : undefined,
  };
}
