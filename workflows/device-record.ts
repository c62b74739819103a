import { DEVICE_EVENTS_KEPT, type DeviceEvent, type DeviceSnapshot, type DeviceStatusReport } from '../protocol/device-contract';
import { ATTRIBUTE_VALUE_PATTERN, MAX_TAGS, TAG_PATTERN, TIME_ZONE_PATTERN } from '../protocol/id-patterns';
import type { DeviceAttributes } from '../protocol/messages';

/**
 * The device entity's record and how a status report changes it. Pure: no Temporal, so every
 * rule here is unit-tested, and the workflow only decides what to make visible.
 *
 * Reports may come twice (QoS 1, a bridge restart replays retained statuses, several bridges
 * each forward them) and out of order (two bridges, retries): they are applied in the order of
 * the bridge's receive time, an older one is ignored, a repeat changes nothing but the time
 * the device was last heard.
 */

export function emptyDeviceRecord(deviceId: string): DeviceSnapshot {
  return { deviceId, presence: 'unknown', boots: 0, attributes: {}, recent: [], reports: { applied: 0, stale: 0, invalid: 0 } };
}

/**
 * The bridge checked the status against the protocol's schema; anyone else with access to
 * Temporal may signal too (another language, the `temporal` CLI). A report that is not one
 * is refused with the reason, and attribute values out of bounds are dropped, so that no
 * signal can break the record or put unbounded values into the visibility store.
 */
export function checkStatusReport(deviceId: string, report: unknown): { ok: true; report: DeviceStatusReport } | { ok: false; reason: string } {
  if (typeof report !== 'object' || report === null) return { ok: false, reason: 'not an object' };
  const r = report as Record<string, unknown>;
  if (r.deviceId !== deviceId) return { ok: false, reason: `deviceId ${JSON.stringify(r.deviceId)} is not this entity's (${deviceId})` };
  if (r.state !== 'online' && r.state !== 'offline') return { ok: false, reason: `state ${JSON.stringify(r.state)} is not online or offline` };
  if (typeof r.bootId !== 'string' || r.bootId.length < 1 || r.bootId.length > 128)
    return { ok: false, reason: 'bootId must be a string of 1 to 128 characters' };
  if (typeof r.receivedAt !== 'string' || Number.isNaN(Date.parse(r.receivedAt))) return { ok: false, reason: 'receivedAt must be an ISO timestamp' };
  const deviceTs = typeof r.deviceTs === 'string' && r.deviceTs.length <= 64 ? r.deviceTs : undefined;
  const attributes = r.attributes === undefined ? undefined : boundedAttributes(r.attributes);
  return {
    ok: true,
    report: {
      deviceId,
      state: r.state,
      bootId: r.bootId,
      receivedAt: r.receivedAt,
      ...(deviceTs ? { deviceTs } : {}),
      ...(attributes ? { attributes } : {}),
      ...(r.asked === true ? { asked: true as const } : {}),
    },
  };
}

function boundedAttributes(raw: unknown): DeviceAttributes | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const a = raw as Record<string, unknown>;
  const value = (v: unknown, pattern: RegExp) => (typeof v === 'string' && pattern.test(v) ? v : undefined);
  const out: DeviceAttributes = {};
  const model = value(a.model, ATTRIBUTE_VALUE_PATTERN);
  const firmware = value(a.firmware, ATTRIBUTE_VALUE_PATTERN);
  const site = value(a.site, ATTRIBUTE_VALUE_PATTERN);
  const timeZone = value(a.timeZone, TIME_ZONE_PATTERN);
  if (model) out.model = model;
  if (firmware) out.firmware = firmware;
  if (site) out.site = site;
  if (timeZone) out.timeZone = timeZone;
  if (Array.isArray(a.tags)) {
    const tags = a.tags.filter((t): t is string => typeof t === 'string' && TAG_PATTERN.test(t)).slice(0, MAX_TAGS);
    if (tags.length > 0) out.tags = [...new Set(tags)];
  }
  return out;
}

/** A refused report: counted, nothing else changes. */
export function countInvalidReport(record: DeviceSnapshot): DeviceSnapshot {
  return { ...record, reports: { ...record.reports, invalid: record.reports.invalid + 1 } };
}

export interface StatusApplied {
  record: DeviceSnapshot;
  /** What changed (empty for a repeat or a stale report). */
  events: DeviceEvent[];
  stale: boolean;
}

export function applyStatusReport(record: DeviceSnapshot, report: DeviceStatusReport): StatusApplied {
  if (record.lastStatusAt !== undefined && Date.parse(report.receivedAt) < Date.parse(record.lastStatusAt)) {
    return { record: { ...record, reports: { ...record.reports, stale: record.reports.stale + 1 } }, events: [], stale: true };
  }
  const at = report.receivedAt;
  const events: DeviceEvent[] = [];
  const firstSeen = record.firstSeenAt === undefined;
  const rebooted = record.bootId !== undefined && record.bootId !== report.bootId;
  if (firstSeen) events.push({ at, event: 'first-seen', detail: `first status: ${report.state}, boot ${report.bootId}` });
  else if (rebooted) events.push({ at, event: 'rebooted', detail: `boot ${record.bootId} → ${report.bootId} (${report.state})` });
  else if (record.presence !== report.state) {
    events.push({ at, event: report.state === 'online' ? 'came-online' : 'went-offline', detail: `${record.presence} → ${report.state}` });
  }
  const attributes = report.attributes ?? record.attributes;
  const changed = attributeChanges(record.attributes, attributes);
  if (changed.length > 0 && !firstSeen) events.push({ at, event: 'attributes-changed', detail: changed.join(', ') });

  const presenceChanged = firstSeen || rebooted || record.presence !== report.state;
  const next: DeviceSnapshot = {
    ...record,
    presence: report.state,
    bootId: report.bootId,
    presenceSince: presenceChanged ? at : record.presenceSince,
    lastStatusAt: at,
    ...(report.deviceTs !== undefined ? { deviceTs: report.deviceTs } : {}),
    firstSeenAt: record.firstSeenAt ?? at,
    boots: firstSeen || rebooted ? record.boots + 1 : record.boots,
    attributes,
    recent: [...record.recent, ...events].slice(-DEVICE_EVENTS_KEPT),
    reports: { ...record.reports, applied: record.reports.applied + 1 },
  };
  return { record: next, events, stale: false };
}

const ATTRIBUTE_KEYS = ['model', 'firmware', 'site', 'timeZone', 'tags'] as const;

/** `firmware 1.0.0 → 1.1.0`-style descriptions of what differs. */
export function attributeChanges(before: DeviceAttributes, after: DeviceAttributes): string[] {
  const show = (v: unknown) => (v === undefined ? '(none)' : Array.isArray(v) ? `[${v.join(' ')}]` : String(v));
  return ATTRIBUTE_KEYS.filter((k) => show(before[k]) !== show(after[k])).map((k) => `${k} ${show(before[k])} → ${show(after[k])}`);
}
