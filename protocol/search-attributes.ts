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
/** On `late-<commandId>` workflows: what the device reported after its command ended (e.g. `succeeded`). */
export const LateOutcomeAttribute = defineSearchAttributeKey('LateOutcome', SearchAttributeType.KEYWORD);

/** Every custom attribute the server must know, as `name → type` for registration. */
export const SEARCH_ATTRIBUTES = [DeviceIdAttribute, CommandNameAttribute, CommandStateAttribute, RolloutIdAttribute, LateOutcomeAttribute];
