import type { Client } from '@temporalio/client';
import { deviceEntitiesById } from '../client/device-entities-by-id';
import { DEVICE_ZONES_PER_CALL, type RolloutActivities } from '../protocol/rollout-contract';
import { DeviceTimeZoneAttribute } from '../protocol/search-attributes';

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
 * query (deviceEntitiesById), so a rollout over 10,000 devices costs 20 queries, whatever the
 * fleet's size. A device without an entity, or that reports no zone, gets null: the rollout
 * then uses the window's own time zone for it.
 */
export function createDeviceTimeZones(client: Client): Pick<RolloutActivities, 'deviceTimeZones'> {
  return {
    async deviceTimeZones({ deviceIds }) {
      if (deviceIds.length > DEVICE_ZONES_PER_CALL)
        throw new RangeError(`deviceTimeZones takes at most ${DEVICE_ZONES_PER_CALL} devices per call, got ${deviceIds.length}`);
      const zoneOf = new Map<string, string>();
      for await (const { deviceId, entity } of deviceEntitiesById(client, deviceIds)) {
        const zone = entity.typedSearchAttributes.get(DeviceTimeZoneAttribute);
        if (zone && knownTimeZone(zone)) zoneOf.set(deviceId, zone);
      }
      return { timeZones: deviceIds.map((id) => zoneOf.get(id) ?? null) };
    },
  };
}
