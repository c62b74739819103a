import type { Client } from '@temporalio/client';
import { DEVICE_WORKFLOW_TYPE } from '../protocol/device-contract';
import { DeviceIdAttribute } from '../protocol/search-attributes';

/**
 * The devices whose entity matches a visibility query over what they report and their
 * presence (`DeviceFirmware = "1.0.0" AND DeviceSite = "plant 7"`, `DeviceTags = "canary"`,
 * `DevicePresence = "online"`): the IDs, sorted. One paged visibility listing; a malformed
 * query is refused by Temporal (its error says where).
 */
export async function devicesMatching(temporal: Client, where: string): Promise<string[]> {
  if (!where.trim()) throw new RangeError('the device query is empty');
  const query = `WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND (${where})`;
  const ids = new Set<string>();
  for await (const w of temporal.workflow.list({ query })) {
    // Only entities: a query that closes the parenthesis early cannot bring in other workflows.
    if (w.type !== DEVICE_WORKFLOW_TYPE) continue;
    const deviceId = w.typedSearchAttributes.get(DeviceIdAttribute);
    if (deviceId) ids.add(deviceId);
  }
  return [...ids].sort();
}
