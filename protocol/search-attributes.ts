import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so operators can filter commands in the Web UI
 * (e.g. `DeviceId = "pump-7" AND CommandState = "TimedOut"`). All are Keywords: the SQLite
 * visibility store of the dev server allows at most 10 custom Keyword attributes.
 */
export const DeviceIdAttribute = defineSearchAttributeKey('DeviceId', SearchAttributeType.KEYWORD);
export const CommandNameAttribute = defineSearchAttributeKey('CommandName', SearchAttributeType.KEYWORD);
export const CommandStateAttribute = defineSearchAttributeKey('CommandState', SearchAttributeType.KEYWORD);
export const RolloutIdAttribute = defineSearchAttributeKey('RolloutId', SearchAttributeType.KEYWORD);
/**
 * On commands, set when they end (with the terminal CommandState, in the same upsert: no extra
 * history event): how many times the command was published. `dco rollout report` reads it;
 * operators filter by it (`CommandAttempts > 1`: commands that needed re-publishes). An Int:
 * the dev server allows 3.
 */
export const CommandAttemptsAttribute = defineSearchAttributeKey('CommandAttempts', SearchAttributeType.INT);
/** On `late-<commandId>` workflows: what the device reported after its command ended (e.g. `succeeded`). */
export const LateOutcomeAttribute = defineSearchAttributeKey('LateOutcome', SearchAttributeType.KEYWORD);

/**
 * On `device-<deviceId>` entities: presence and what the device reports about itself, so the
 * fleet can be filtered (`WorkflowType = "deviceWorkflow" AND DeviceFirmware = "1.4.2"`). With
 * the five above and the time zone below these are all 10 of the dev server's Keywords; the tags
 * are a KeywordList (the dev server allows 3).
 */
export const DevicePresenceAttribute = defineSearchAttributeKey('DevicePresence', SearchAttributeType.KEYWORD);
export const DeviceModelAttribute = defineSearchAttributeKey('DeviceModel', SearchAttributeType.KEYWORD);
export const DeviceFirmwareAttribute = defineSearchAttributeKey('DeviceFirmware', SearchAttributeType.KEYWORD);
export const DeviceSiteAttribute = defineSearchAttributeKey('DeviceSite', SearchAttributeType.KEYWORD);
/**
 * On entities: the IANA time zone the device reports. A rollout with per-device maintenance
 * windows (RolloutSpec.window.deviceTimeZone) reads its targets' zones here, a page of entities
 * per visibility call; operators filter by it (`DeviceTimeZone = 'Europe/Berlin'`).
 */
export const DeviceTimeZoneAttribute = defineSearchAttributeKey('DeviceTimeZone', SearchAttributeType.KEYWORD);
/** A device's reported tags: `DeviceTags = "north"` matches a device with that tag among others. */
export const DeviceTagsAttribute = defineSearchAttributeKey('DeviceTags', SearchAttributeType.KEYWORD_LIST);

/** On entities: the groups the device was assigned to (`dco group assign`): `DeviceGroups = "pumps-north"`. A KeywordList (2 of the dev server's 3). */
export const DeviceGroupsAttribute = defineSearchAttributeKey('DeviceGroups', SearchAttributeType.KEYWORD_LIST);

/**
 * On entities: when the device's reported attributes or its groups last changed, or its entity
 * was created (workflow time; presence changes do not count). A continuous rollout asks only for the
 * devices changed since its last look (`DeviceAttributesAt >= ...`), so a look costs what
 * changed, not the fleet. A Datetime: the dev server allows 3.
 */
export const DeviceAttributesAtAttribute = defineSearchAttributeKey('DeviceAttributesAt', SearchAttributeType.DATETIME);

/** Every custom attribute the server must know, as `name → type` for registration. */
export const SEARCH_ATTRIBUTES = [
  DeviceIdAttribute,
  CommandNameAttribute,
  CommandStateAttribute,
  RolloutIdAttribute,
  CommandAttemptsAttribute,
  LateOutcomeAttribute,
  DevicePresenceAttribute,
  DeviceModelAttribute,
  DeviceFirmwareAttribute,
  DeviceSiteAttribute,
  DeviceTimeZoneAttribute,
  DeviceTagsAttribute,
  DeviceAttributesAtAttribute,
  DeviceGroupsAttribute,
] as const;

/** The type's name as the Temporal CLI spells it (`--search-attribute Name=Keyword`, `--type KeywordList`). */
export function cliTypeName(key: (typeof SEARCH_ATTRIBUTES)[number]): 'Keyword' | 'KeywordList' | 'Int' | 'Datetime' {
  if (key.type === SearchAttributeType.INT) return 'Int';
  if (key.type === SearchAttributeType.DATETIME) return 'Datetime';
  return key.type === SearchAttributeType.KEYWORD_LIST ? 'KeywordList' : 'Keyword';
}

/** `Name = <a value of its type>`: a query that is valid only once the attribute is registered (readiness probes). */
export function probeClause(key: (typeof SEARCH_ATTRIBUTES)[number]): string {
  if (key.type === SearchAttributeType.INT) return `${key.name} = 0`;
  if (key.type === SearchAttributeType.DATETIME) return `${key.name} = '2000-01-01T00:00:00Z'`;
  return `${key.name} = 'probe'`;
}
