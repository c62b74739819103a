import type { Client } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { deviceEntitiesById, ENTITIES_PER_QUERY } from '../client/device-entities-by-id';
import { DEVICE_PRESENCE_MEMO, type DevicePresenceMemo, type DeviceStatusReport } from '../protocol/device-contract';
import type { DeviceAttributes } from '../protocol/messages';
import {
  DeviceFirmwareAttribute,
  DeviceModelAttribute,
  DeviceSiteAttribute,
  DeviceTagsAttribute,
  DeviceTimeZoneAttribute,
} from '../protocol/search-attributes';

/** Which of these retained statuses their device's entity already shows: those need no signal. */
export type EntityStatusCheck = (reports: readonly DeviceStatusReport[]) => Promise<Set<string>>;

/** Statuses checked per visibility query (deviceEntitiesById). */
export const STATUS_CHECK_BATCH = ENTITIES_PER_QUERY;

/**
 * A bridge start reads every device's retained status, which mostly repeats what the entities
 * already know. One visibility query per STATUS_CHECK_BATCH statuses finds the devices whose
 * entity shows the same presence (its memo: state and boot) and the same reported attributes
 * (its search attributes): a restart over 10,000 devices costs 20 queries, not 10,000 entity
 * tasks. A device with no entity, an older entity without the memo, or anything that differs
 * is not known, so it is forwarded: a check can only save a signal, never lose a change.
 */
export function entityStatusCheck(temporal: Pick<Client, 'workflow'>): EntityStatusCheck {
  return async (reports) => {
    const known = new Set<string>();
    const byDevice = new Map(reports.map((r) => [r.deviceId, r]));
    for await (const { deviceId, entity } of deviceEntitiesById(temporal, [...byDevice.keys()])) {
      const report = byDevice.get(deviceId);
      if (report && entityShows(entity.memo?.[DEVICE_PRESENCE_MEMO] as DevicePresenceMemo | undefined, entity.typedSearchAttributes, report))
        known.add(deviceId);
    }
    return known;
  };
}

/** Whether an entity's memo and search attributes say what this status says (attributes only when it has some: none means "keep the last"). */
export function entityShows(memo: DevicePresenceMemo | undefined, shown: TypedSearchAttributes, report: DeviceStatusReport): boolean {
  if (!memo || memo.state !== report.state || memo.bootId !== report.bootId) return false;
  return report.attributes === undefined || sameAttributes(report.attributes, shown);
}

function sameAttributes(a: DeviceAttributes, shown: TypedSearchAttributes): boolean {
  const tags = shown.get(DeviceTagsAttribute) ?? [];
  return (
    (a.model ?? null) === (shown.get(DeviceModelAttribute) ?? null) &&
    (a.firmware ?? null) === (shown.get(DeviceFirmwareAttribute) ?? null) &&
    (a.site ?? null) === (shown.get(DeviceSiteAttribute) ?? null) &&
    (a.timeZone ?? null) === (shown.get(DeviceTimeZoneAttribute) ?? null) &&
    JSON.stringify(a.tags ?? []) === JSON.stringify(tags)
  );
}
