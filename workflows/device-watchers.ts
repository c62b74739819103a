import type { DevicePresence } from '../protocol/command-contract';
import type { DeviceEvent, DeviceSnapshot } from '../protocol/device-contract';
import { MAX_WATCHERS_PER_DEVICE, type DeviceWatcher, type DeviceWatchRequest } from '../protocol/device-watch-contract';
import { COMMAND_ID_PATTERN } from '../protocol/id-patterns';

/**
 * The commands a device entity wakes, as pure functions (no Temporal API): the entity applies
 * watch requests with them and sends what they return. Requests may arrive twice (a retried
 * local activity, a replayed command), so every step is idempotent.
 */

export type WatchOutcome = 'added' | 'updated' | 'removed' | 'unchanged' | 'full';

/**
 * A watch request as any caller may send it: only the command workflow should, but the signal
 * is open to anyone with access to the namespace. Errors are values.
 */
export function checkWatchRequest(raw: unknown): { ok: true; request: DeviceWatchRequest } | { ok: false; reason: string } {
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'not an object' };
  const r = raw as Record<string, unknown>;
  if (typeof r.commandId !== 'string' || !COMMAND_ID_PATTERN.test(r.commandId)) return { ok: false, reason: 'commandId must be a valid command ID' };
  if (r.kind === 'unwatch') return { ok: true, request: { kind: 'unwatch', commandId: r.commandId } };
  if (r.kind !== 'watch') return { ok: false, reason: 'kind must be watch or unwatch' };
  if (typeof r.since !== 'string' || Number.isNaN(Date.parse(r.since))) return { ok: false, reason: 'since must be an ISO timestamp' };
  if (typeof r.untilMs !== 'number' || !Number.isFinite(r.untilMs)) return { ok: false, reason: 'untilMs must be a number (epoch ms)' };
  return { ok: true, request: { kind: 'watch', commandId: r.commandId, since: r.since, untilMs: r.untilMs } };
}

/** Applies one request. `full`: the entity already wakes MAX_WATCHERS_PER_DEVICE commands. */
export function applyWatchRequest(watchers: DeviceWatcher[], request: DeviceWatchRequest): { watchers: DeviceWatcher[]; outcome: WatchOutcome } {
  const i = watchers.findIndex((w) => w.commandId === request.commandId);
  if (request.kind === 'unwatch') {
    return i < 0 ? { watchers, outcome: 'unchanged' } : { watchers: watchers.filter((_, j) => j !== i), outcome: 'removed' };
  }
  const entry: DeviceWatcher = { commandId: request.commandId, since: request.since, untilMs: request.untilMs };
  if (i >= 0) {
    const old = watchers[i];
    if (old.since === entry.since && old.untilMs === entry.untilMs) return { watchers, outcome: 'unchanged' };
    return { watchers: watchers.map((w, j) => (j === i ? entry : w)), outcome: 'updated' };
  }
  if (watchers.length >= MAX_WATCHERS_PER_DEVICE) return { watchers, outcome: 'full' };
  return { watchers: [...watchers, entry], outcome: 'added' };
}

/** Forgets the commands past their `untilMs` (terminated, so they never said `unwatch`). */
export function pruneWatchers(watchers: DeviceWatcher[], nowMs: number): { watchers: DeviceWatcher[]; dropped: string[] } {
  const dropped = watchers.filter((w) => w.untilMs <= nowMs).map((w) => w.commandId);
  return dropped.length === 0 ? { watchers, dropped } : { watchers: watchers.filter((w) => w.untilMs > nowMs), dropped };
}

/** The presence as a command understands it (its `devicePresence` signal), if the entity knows one. */
export function presenceOf(record: DeviceSnapshot, asked = false): DevicePresence | undefined {
  if (record.presence === 'unknown' || record.bootId === undefined || record.lastStatusAt === undefined) return undefined;
  return { deviceId: record.deviceId, state: record.presence, bootId: record.bootId, observedAt: record.lastStatusAt, ...(asked ? { asked: true } : {}) };
}

/**
 * What a new watcher is told at once: the entity heard from the device after what the command
 * knew (`since`), for example the device came back while the command was deciding to wait.
 */
export function newsFor(record: DeviceSnapshot, since: string): DevicePresence | undefined {
  const presence = presenceOf(record);
  return presence && Date.parse(presence.observedAt) > Date.parse(since) ? presence : undefined;
}

const WAKING_EVENTS: ReadonlySet<DeviceEvent['event']> = new Set(['first-seen', 'came-online', 'rebooted']);

/**
 * What an applied status report means for the waiting commands: the presence to send them all,
 * or nothing. They are woken when the device is online after being away or in a new boot, and
 * whenever it asks for its pending commands; a heartbeat, an attribute change or going
 * offline wakes nobody.
 */
export function wakeFor(record: DeviceSnapshot, events: DeviceEvent[], asked: boolean): DevicePresence | undefined {
  if (record.presence !== 'online') return undefined;
  if (asked) return presenceOf(record, true);
  return events.some((e) => WAKING_EVENTS.has(e.event)) ? presenceOf(record) : undefined;
}
