import type { Client } from '@temporalio/client';
import { DEVICE_WORKFLOW_TYPE, deviceWorkflowId } from '../protocol/device-contract';
import { DEVICE_ZONES_PER_CALL, type RolloutActivities } from '../protocol/rollout-contract';
import { DeviceTimeZoneAttribute } from '../protocol/search-attributes';

const ENTITY_PREFIX = deviceWorkflowId('');

/** Whether this Node.js build knows the zone: a device may report a name that only looks like one. */
function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The time zones of a batch of a rollout's targets, read from their entities in one visibility
 * query (`WorkflowId IN (...)`), so a rollout over 10,000 devices costs 20 queries, whatever
 * the fleet's size. A device without an entity, or that reports no zone, gets null: the
 * rollout then uses the window's own time zone for it.
 */
export function createDeviceTimeZones(client: Client): Pick<RolloutActivities, 'deviceTimeZones'> {
  return {
    async deviceTimeZones({ deviceIds }) {
      if (deviceIds.length > DEVICE_ZONES_PER_CALL) throw new RangeError(`deviceTimeZones takes at most ${DEVICE_ZONES_PER_CALL} devices per call, got ${deviceIds.length}`);
      const zoneOf = new Map<string, string>();
      if (deviceIds.length > 0) {
        // Device IDs have no quotes (DEVICE_ID_PATTERN), so they are safe inside the query.
        const ids = deviceIds.map((id) => `'${ENTITY_PREFIX}${id}'`).join(', ');
        const query = `WorkflowType = '${DEVICE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND WorkflowId IN (${ids})`;
        for await (const e of client.workflow.list({ query, pageSize: DEVICE_ZONES_PER_CALL })) {
          const zone = e.typedSearchAttributes.get(DeviceTimeZoneAttribute);
          if (zone && knownTimeZone(zone)) zoneOf.set(e.workflowId.slice(ENTITY_PREFIX.length), zone);
        }
      }
      return { timeZones: deviceIds.map((id) => zoneOf.get(id) ?? null) };
    },
  };
}
