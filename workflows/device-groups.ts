import type { DeviceSnapshot } from '../protocol/device-contract';
import { DEVICE_EVENTS_KEPT } from '../protocol/device-contract';
import { MAX_GROUPS_PER_DEVICE, type DeviceGroupsChange } from '../protocol/device-group-contract';
import { GROUP_NAME_PATTERN } from '../protocol/id-patterns';

/**
 * A device's group memberships, changed by `deviceGroups` signals (device-group-contract.ts).
 * Pure, and errors are values: a change from any caller is checked, and no change can give a
 * device more than MAX_GROUPS_PER_DEVICE groups.
 */

export function checkGroupsChange(raw: unknown): { ok: true; change: { add: string[]; remove: string[] } } | { ok: false; reason: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'a groups change is {add?, remove?}' };
  const r = raw as Record<string, unknown>;
  const names = (v: unknown, key: string): string[] | string => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > MAX_GROUPS_PER_DEVICE) return `${key} must be a list of at most ${MAX_GROUPS_PER_DEVICE} group names`;
    const bad = v.find((n) => typeof n !== 'string' || !GROUP_NAME_PATTERN.test(n));
    return bad === undefined ? (v as string[]) : `${key}: ${JSON.stringify(bad)} is not a group name`;
  };
  const add = names(r.add, 'add');
  if (typeof add === 'string') return { ok: false, reason: add };
  const remove = names(r.remove, 'remove');
  if (typeof remove === 'string') return { ok: false, reason: remove };
  return { ok: true, change: { add, remove } };
}

/**
 * The record with the change applied (removals first), or the same record when nothing changes
 * (a repeated signal). Adding beyond MAX_GROUPS_PER_DEVICE is refused whole, with the reason.
 */
export function applyGroupsChange(record: DeviceSnapshot, change: Required<DeviceGroupsChange>, at: string): { record: DeviceSnapshot } | { refused: string } {
  const before = record.groups ?? [];
  const after = [...new Set([...before.filter((g) => !change.remove.includes(g)), ...change.add])].sort();
  if (after.length > MAX_GROUPS_PER_DEVICE)
    return { refused: `a device is in at most ${MAX_GROUPS_PER_DEVICE} groups; ${record.deviceId} would be in ${after.length}` };
  if (after.join() === before.join()) return { record };
  const added = after.filter((g) => !before.includes(g));
  const removed = before.filter((g) => !after.includes(g));
  const detail = [added.length ? `+${added.join(' +')}` : '', removed.length ? `-${removed.join(' -')}` : ''].filter(Boolean).join(' ');
  const { groups: _old, ...rest } = record;
  return {
    record: {
      ...rest,
      ...(after.length ? { groups: after } : {}),
      recent: [...record.recent, { at, event: 'groups-changed' as const, detail }].slice(-DEVICE_EVENTS_KEPT),
    },
  };
}
