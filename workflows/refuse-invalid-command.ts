import { log, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { snapshotQuery, type CommandSnapshot } from '../protocol/command-contract';
import { COMMAND_NAME_PATTERN, DEVICE_ID_PATTERN } from '../protocol/id-patterns';
import { CommandAttemptsAttribute, CommandNameAttribute, CommandStateAttribute, DeviceIdAttribute } from '../protocol/search-attributes';
import { recordFinished } from './command-metrics';
import { invalidRequestRecord } from './command-record';
import { describeForHumans } from './command-summary';

/** Ends a command whose input is invalid: `Rejected`, nothing published, the reason kept. */
export function refuseInvalidRequest(input: unknown, reason: string): CommandSnapshot {
  const info = workflowInfo();
  const record = invalidRequestRecord(input, reason, new Date().toISOString(), info.workflowId.replace(/^command-/, ''));
  setHandler(snapshotQuery, () => record);
  // Operators find it by device and name when those are usable; the state always.
  const pairs: SearchAttributeUpdatePair[] = [
    { key: CommandStateAttribute, value: 'Rejected' },
    { key: CommandAttemptsAttribute, value: 0 },
  ];
  if (DEVICE_ID_PATTERN.test(record.deviceId)) pairs.push({ key: DeviceIdAttribute, value: record.deviceId });
  if (COMMAND_NAME_PATTERN.test(record.name)) pairs.push({ key: CommandNameAttribute, value: record.name });
  const missing = pairs.filter((pair) => info.typedSearchAttributes.get(pair.key) !== pair.value);
  if (missing.length > 0) upsertSearchAttributes(missing);
  setCurrentDetails(describeForHumans(record));
  log.warn('command Rejected', { commandId: record.commandId, deviceId: record.deviceId, command: record.name, state: 'Rejected', attempts: 0, reason });
  recordFinished('Rejected', COMMAND_NAME_PATTERN.test(record.name) ? record.name : 'invalid');
  return record;
}
