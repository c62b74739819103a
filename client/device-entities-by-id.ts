import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { DEVICE_WORKFLOW_TYPE, deviceWorkflowId } from '../protocol/device-contract';
import { DEVICE_ID_PATTERN } from '../protocol/id-patterns';

/** Device IDs per query: `WorkflowId IN (...)` of 500 entity IDs is about 20 KB of query (1,000 were tried on the dev server). */
export const ENTITIES_PER_QUERY = 500;

const ENTITY_PREFIX = deviceWorkflowId('');

/**
 * The running entities of these devices, as visibility lists them (memo and search attributes,
 * no worker task), in one query: what a rollout reads its targets' time zones from, and what
 * the bridge checks retained statuses against. Devices without an entity are simply absent.
 */
export async function* deviceEntitiesById(
  temporal: Pick<Client, 'workflow'>,
  deviceIds: readonly string[],
): AsyncGenerator<{ deviceId: string; entity: WorkflowExecutionInfo }> {
  if (deviceIds.length === 0) return;
  if (deviceIds.length > ENTITIES_PER_QUERY) throw new RangeError(`at most ${ENTITIES_PER_QUERY} devices per query, got ${deviceIds.length}`);
  // Checked before they are written into the query: the pattern admits no quote.
  const bad = deviceIds.find((id) => !DEVICE_ID_PATTERN.test(id));
  if (bad !== undefined) throw new RangeError(`not a device ID: ${JSON.stringify(bad)}`);
  const ids = deviceIds.map((id) => `'${ENTITY_PREFIX}${id}'`).join(', ');
  const query = `WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND WorkflowId IN (${ids})`;
  for await (const entity of temporal.workflow.list({ query, pageSize: ENTITIES_PER_QUERY })) {
    yield { deviceId: entity.workflowId.slice(ENTITY_PREFIX.length), entity };
  }
}
