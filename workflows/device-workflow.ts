import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  makeContinueAsNewFunc,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  DEVICE_MAX_HISTORY_EVENTS,
  DEVICE_PRESENCE_MEMO,
  type DevicePresenceMemo,
  deviceSnapshotQuery,
  deviceStatusSignal,
  deviceWorkflowId,
  type DeviceEntityInput,
  type DeviceSnapshot,
} from '../protocol/device-contract';
import { DEVICE_ID_PATTERN } from '../protocol/id-patterns';
import { commandWorkflowId, devicePresenceSignal, type DevicePresence } from '../protocol/command-contract';
import { deviceWatchSignal, type DeviceWatcher } from '../protocol/device-watch-contract';
import { deviceQueueSignal, serialTurnSignal } from '../protocol/device-queue-contract';
import { deviceGroupsSignal } from '../protocol/device-group-contract';
import {
  DeviceAttributesAtAttribute,
  DeviceFirmwareAttribute,
  DeviceGroupsAttribute,
  DeviceIdAttribute,
  DeviceModelAttribute,
  DevicePresenceAttribute,
  DeviceSiteAttribute,
  DeviceTagsAttribute,
  DeviceTimeZoneAttribute,
} from '../protocol/search-attributes';
import { applyStatusReport, checkStatusReport, countInvalidReport, emptyDeviceRecord } from './device-record';
import {
  applyQueueRequest,
  checkQueueRequest,
  emptyQueue,
  grantNext,
  nextHoldEnd,
  queueView,
  reclaimExpired,
  reclaimTurn,
  type DeviceQueue,
} from './device-queue';
import { applyWatchRequest, checkWatchRequest, newsFor, pruneWatchers, wakeFor } from './device-watchers';
import { applyGroupsChange, checkGroupsChange } from './device-groups';

/**
 * `device-<deviceId>`: the device entity (protocol/device-contract.ts). It keeps the device's
 * presence, boot and reported attributes from the status reports the bridge forwards, shows
 * them as search attributes, and continues as new before its history grows long. It never
 * ends by itself: a device is a thing that exists, whether online or not.
 */
export async function deviceWorkflow(input: DeviceEntityInput): Promise<never> {
  const info = workflowInfo();
  // Started by hand or from another language with a wrong input: fail at once and say why,
  // rather than keep a record under the wrong name.
  if (typeof input?.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(input.deviceId)) {
    throw ApplicationFailure.nonRetryable(`invalid device entity input: deviceId must match ${DEVICE_ID_PATTERN}`, 'InvalidDeviceEntityInput');
  }
  if (info.workflowId !== deviceWorkflowId(input.deviceId)) {
    throw ApplicationFailure.nonRetryable(
      `the workflow ID must be ${deviceWorkflowId(input.deviceId)} (device-<deviceId>), got ${info.workflowId}`,
      'InvalidDeviceEntityInput',
    );
  }
  const { deviceId } = input;
  const maxHistoryEvents = input.maxHistoryEvents ?? DEVICE_MAX_HISTORY_EVENTS;
  let record: DeviceSnapshot = input.continued?.snapshot ?? emptyDeviceRecord(deviceId);

  /** The device's serial commands (device-queue.ts); in the record once the first one asked. */
  let queue: DeviceQueue | undefined = input.continued?.queue;
  /** Commands waiting for the device (device-watchers.ts); in the record once the first one asked. */
  let watchers: DeviceWatcher[] | undefined = input.continued?.watchers;
  let wakes = input.continued?.snapshot.wakes ?? 0;
  const snapshot = (): DeviceSnapshot => ({
    ...record,
    ...(queue ? { queue: queueView(queue) } : {}),
    ...(watchers ? { watchers, wakes } : {}),
  });

  /** Wake-up signals on their way: the entity continues as new only once they are all sent. */
  let wakesInFlight = 0;
  const wakeCommands = (commandIds: string[], presence: DevicePresence) => {
    for (const commandId of commandIds) {
      wakesInFlight++;
      getExternalWorkflowHandle(commandWorkflowId(commandId))
        .signal(devicePresenceSignal, presence)
        .then(
          () => void wakes++,
          (err: Error) => {
            // The command ended without saying so (terminated, or its unwatch is on its way).
            watchers = watchers?.filter((w) => w.commandId !== commandId);
            log.info('device watcher dropped: the command could not be woken', { deviceId, commandId, error: err.message });
          },
        )
        .finally(() => void wakesInFlight--);
    }
  };
  const forgetExpiredWatchers = () => {
    if (!watchers) return;
    const pruned = pruneWatchers(watchers, Date.now());
    watchers = pruned.watchers;
    for (const commandId of pruned.dropped) log.info('device watcher dropped: past its hold time', { deviceId, commandId });
  };

  setHandler(deviceSnapshotQuery, snapshot);
  setHandler(deviceStatusSignal, (raw) => {
    const checked = checkStatusReport(deviceId, raw);
    if (!checked.ok) {
      record = countInvalidReport(record);
      log.warn('device status report refused', { deviceId, reason: checked.reason });
      return;
    }
    const applied = applyStatusReport(record, checked.report);
    record = applied.record;
    for (const e of applied.events) log.info(`device ${e.event}`, { deviceId, detail: e.detail });
    if (applied.events.length > 0) show(snapshot());
    if (applied.stale || !watchers?.length) return;
    forgetExpiredWatchers();
    const presence = wakeFor(record, applied.events, checked.report.asked === true);
    if (presence)
      wakeCommands(
        watchers.map((w) => w.commandId),
        presence,
      );
  });
  setHandler(deviceWatchSignal, (raw) => {
    const checked = checkWatchRequest(raw);
    if (!checked.ok) {
      log.warn('device watch request refused', { deviceId, reason: checked.reason });
      return;
    }
    forgetExpiredWatchers();
    const { watchers: next, outcome } = applyWatchRequest(watchers ?? [], checked.request);
    if (outcome === 'full') {
      log.warn('device watch request refused: the entity already wakes as many commands as it may; this one re-checks by itself', {
        deviceId,
        commandId: checked.request.commandId,
        watchers: next.length,
      });
      return;
    }
    watchers = next;
    if (outcome !== 'unchanged') setCurrentDetails(describeDevice(snapshot()));
    if (checked.request.kind === 'watch' && outcome !== 'unchanged') {
      const news = newsFor(record, checked.request.since);
      if (news) wakeCommands([checked.request.commandId], news);
    }
  });
  setHandler(deviceGroupsSignal, (raw) => {
    const checked = checkGroupsChange(raw);
    const applied = checked.ok ? applyGroupsChange(record, checked.change, new Date().toISOString()) : { refused: checked.reason };
    if ('refused' in applied) {
      log.warn('device groups change refused', { deviceId, reason: applied.refused });
      return;
    }
    if (applied.record === record) return;
    record = applied.record;
    log.info('device groups-changed', { deviceId, groups: record.groups ?? [] });
    show(snapshot());
  });
  setHandler(deviceQueueSignal, (raw) => {
    const checked = checkQueueRequest(raw);
    if (!checked.ok) {
      log.warn('device queue request refused', { deviceId, reason: checked.reason });
      return;
    }
    const next = applyQueueRequest(queue ?? emptyQueue(), checked.request);
    if (next === queue) return;
    queue = next;
    setCurrentDetails(describeDevice(snapshot()));
  });
  show(snapshot());

  const timeToContinue = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxHistoryEvents;
  const turnToGive = () => queue !== undefined && !queue.inFlight && queue.waiting.length > 0;
  for (;;) {
    if (queue) {
      const taken = reclaimExpired(queue, Date.now());
      queue = taken.queue;
      for (const commandId of taken.reclaimed) log.warn('device turn reclaimed: the command held it past its hold time', { deviceId, commandId });
      const { queue: granted, granted: entry } = grantNext(queue, new Date().toISOString());
      if (entry) {
        queue = granted;
        setCurrentDetails(describeDevice(snapshot()));
        try {
          await getExternalWorkflowHandle(commandWorkflowId(entry.commandId)).signal(serialTurnSignal, { deviceId });
        } catch (err) {
          // The command ended meanwhile (its release may still be on its way): the turn is free.
          queue = reclaimTurn(queue, entry.commandId);
          log.warn('device turn reclaimed: the command could not be told', { deviceId, commandId: entry.commandId, error: (err as Error).message });
        }
        continue;
      }
    }
    if (timeToContinue()) break;
    const holdEnd = queue ? nextHoldEnd(queue) : undefined;
    const wake = () => timeToContinue() || turnToGive();
    // A timer only while something is held: an entity without serial commands waits without one.
    if (holdEnd === undefined) await condition(wake);
    else await condition(wake, Math.max(holdEnd - Date.now(), 1));
  }

  // Wake-ups already decided go out in this run: the next one does not know of them.
  await condition(() => wakesInFlight === 0);
  forgetExpiredWatchers();
  const runs = (input.continued?.runs ?? 0) + 1;
  // Search attributes go along explicitly: operators find the new run by them.
  const now = workflowInfo();
  return makeContinueAsNewFunc<typeof deviceWorkflow>({ typedSearchAttributes: now.typedSearchAttributes, memo: now.memo })({
    ...input,
    continued: { snapshot: { ...record, ...(watchers ? { wakes } : {}) }, runs, ...(queue ? { queue } : {}), ...(watchers ? { watchers } : {}) },
  });
}

/**
 * Since this patch the entity also shows the device's presence in its memo (DEVICE_PRESENCE_MEMO),
 * which the command worker reads before a publish instead of following every device's status
 * itself. Entities that ran before it replay without the memo.
 */
const PRESENCE_MEMO_PATCH = 'presence-memo';

/** Since this patch the entity shows the reported time zone as DeviceTimeZone (per-device maintenance windows read it). */
const TIME_ZONE_ATTRIBUTE_PATCH = 'device-time-zone-attribute';

/** Upserts the search attributes that differ from what the server shows, the presence memo, and the Web UI's summary. */
function show(record: DeviceSnapshot): void {
  const wanted: SearchAttributeUpdatePair[] = [
    { key: DeviceIdAttribute, value: record.deviceId },
    { key: DevicePresenceAttribute, value: record.presence },
    { key: DeviceModelAttribute, value: record.attributes.model ?? null },
    { key: DeviceFirmwareAttribute, value: record.attributes.firmware ?? null },
    { key: DeviceSiteAttribute, value: record.attributes.site ?? null },
    { key: DeviceTagsAttribute, value: record.attributes.tags?.length ? record.attributes.tags : null },
    { key: DeviceGroupsAttribute, value: record.groups?.length ? record.groups : null },
  ];
  const shown = workflowInfo().typedSearchAttributes;
  // Lists compare by content: the server hands back a new array.
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  // The time zone joined later: entities that ran before never upserted it, so it is asked
  // for (the patch) only when it differs, and an old history replays without the upsert.
  const timeZone = record.attributes.timeZone ?? null;
  if (!same(shown.get(DeviceTimeZoneAttribute), timeZone) && patched(TIME_ZONE_ATTRIBUTE_PATCH)) wanted.push({ key: DeviceTimeZoneAttribute, value: timeZone });
  const changed = wanted.filter((pair) => !same(shown.get(pair.key), pair.value));
  // What a device reports changed (or the entity is new: DeviceId is set once): stamp it, in the
  // same upsert, so continuous rollouts find it. Presence alone changes often and does not count.
  if (changed.some((pair) => pair.key !== DevicePresenceAttribute)) changed.push({ key: DeviceAttributesAtAttribute, value: new Date() });
  if (changed.length > 0) upsertSearchAttributes(changed);
  if (patched(PRESENCE_MEMO_PATCH)) showPresence(record);
  setCurrentDetails(describeDevice(record));
}

/** The presence memo, upserted only when it changes (a new state, boot or observation). */
function showPresence(record: DeviceSnapshot): void {
  if (record.presence === 'unknown' || record.bootId === undefined || record.lastStatusAt === undefined) return;
  const wanted: DevicePresenceMemo = { state: record.presence, bootId: record.bootId, observedAt: record.lastStatusAt };
  const shown = workflowInfo().memo?.[DEVICE_PRESENCE_MEMO];
  if (JSON.stringify(shown ?? null) === JSON.stringify(wanted)) return;
  upsertMemo({ [DEVICE_PRESENCE_MEMO]: wanted });
}

function describeDevice(r: DeviceSnapshot): string {
  const attrs = Object.entries(r.attributes)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(' ') : v}`)
    .join(', ');
  const last = r.recent.at(-1);
  return [
    `Device ${r.deviceId}: ${r.presence}${r.presenceSince ? ` since ${r.presenceSince}` : ''}${r.bootId ? `, boot ${r.bootId} (${r.boots} seen)` : ''}.`,
    attrs ? `Reports ${attrs}.` : 'Reports no attributes.',
    r.groups?.length ? `Groups: ${r.groups.join(', ')}.` : '',
    last ? `Last change: ${last.event} at ${last.at} (${last.detail}).` : '',
    `Statuses applied ${r.reports.applied}, out of order ${r.reports.stale}, refused ${r.reports.invalid}.`,
    r.queue ? describeQueue(r.queue) : '',
    r.watchers
      ? `Commands waiting for it: ${r.watchers.length}${
          r.watchers.length
            ? ` (${r.watchers
                .map((w) => w.commandId)
                .slice(0, 5)
                .join(', ')}${r.watchers.length > 5 ? ', ...' : ''})`
            : ''
        }; wake-ups sent ${r.wakes ?? 0}.`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function describeQueue(q: NonNullable<DeviceSnapshot['queue']>): string {
  const inFlight = q.inFlight ? `serial command in flight: ${q.inFlight.commandId} (${q.inFlight.name})` : 'no serial command in flight';
  return `Queue: ${inFlight}, ${q.waiting.length} waiting, ${q.served} served.`;
}
