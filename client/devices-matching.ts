import type { Client } from '@temporalio/client';
import { DEVICE_WORKFLOW_TYPE } from '../protocol/device-contract';
import { deviceQueryProblem } from '../protocol/device-query';
import { DeviceIdAttribute } from '../protocol/search-attributes';

/**
 * The devices whose entity matches a visibility query over what they report and their
 * presence (`DeviceFirmware = "1.0.0" AND DeviceSite = "plant 7"`, `DeviceTags = "canary"`,
 * `DevicePresence = "online"`): the IDs, sorted. One paged visibility listing; a malformed
 * query is refused by Temporal (its error says where).
 */
export async function devicesMatching(temporal: Client, where: string): Promise<string[]> {
  const ids = new Set<string>();
  for await (const w of temporal.workflow.list({ query: entitiesWhere(where) })) {
    // Only entities, whatever the query (deviceQueryProblem already refuses one that escapes its parentheses).
    if (w.type !== DEVICE_WORKFLOW_TYPE) continue;
    const deviceId = w.typedSearchAttributes.get(DeviceIdAttribute);
    if (deviceId) ids.add(deviceId);
  }
  return [...ids].sort();
}

/**
 * The visibility query for the running device entities that match `where`, which is checked
 * first (deviceQueryProblem: it may not escape its parentheses). A RangeError says why not.
 */
export function entitiesWhere(where: string): string {
  const problem = deviceQueryProblem(where);
  if (problem) throw new RangeError(problem);
  return `WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND (${where})`;
}
