import type { Client } from '@temporalio/client';
import { DEVICE_WORKFLOW_TYPE, deviceWorkflowId } from '../protocol/device-contract';
import { deviceQueryProblem } from '../protocol/device-query';
import { DEVICE_ID_PATTERN } from '../protocol/id-patterns';
import type { DevicesChangedPage, RolloutActivities } from '../protocol/rollout-contract';

/**
 * One page of a continuous rollout's look for devices: 1,000 IDs of about 20 bytes, 20 KB in
 * the rollout's history, well under Temporal's payload limits.
 */
export const DEVICES_PER_PAGE = 1_000;

const ENTITY_PREFIX = deviceWorkflowId('');

/**
 * The devices whose entity matches `query` and whose reported attributes changed (or whose
 * entity was created) at or after `sinceMs`: one visibility page per call, so the rollout takes
 * a large change in pages it can record one by one. A query Temporal refuses fails the
 * activity without retries: the rollout says why, instead of asking forever.
 */
export function createDevicesChangedSince(client: Client): Pick<RolloutActivities, 'devicesChangedSince'> {
  return {
    async devicesChangedSince({ query, sinceMs, pageToken }): Promise<DevicesChangedPage> {
      const problem = deviceQueryProblem(query);
      if (problem) throw Object.assign(new Error(problem), { name: 'InvalidDeviceQuery' });
      const full = `WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND (${query}) AND DeviceAttributesAt >= '${new Date(sinceMs).toISOString()}'`;
      const page = await client.workflowService
        .listWorkflowExecutions({
          namespace: client.options.namespace,
          query: full,
          pageSize: DEVICES_PER_PAGE,
          ...(pageToken ? { nextPageToken: Buffer.from(pageToken, 'base64') } : {}),
        })
        .catch((err: unknown) => {
          // gRPC INVALID_ARGUMENT: Temporal cannot parse the query; asking again will not help.
          if ((err as { code?: number }).code === 3)
            throw Object.assign(new Error(`Temporal refuses the query: ${(err as Error).message}`), { name: 'InvalidDeviceQuery' });
          throw err;
        });
      const deviceIds = (page.executions ?? [])
        .filter((e) => e.type?.name === DEVICE_WORKFLOW_TYPE)
        .map((e) => e.execution?.workflowId?.slice(ENTITY_PREFIX.length) ?? '')
        .filter((id) => DEVICE_ID_PATTERN.test(id));
      const next = page.nextPageToken?.length ? Buffer.from(page.nextPageToken).toString('base64') : undefined;
      return { deviceIds, ...(next ? { nextPageToken: next } : {}) };
    },
  };
}
