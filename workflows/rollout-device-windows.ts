/**
 * Per-device maintenance windows (RolloutSpec.window.deviceTimeZone), pure: each device waits
 * for the window in its own time zone. Devices are kept grouped by zone inside each wave
 * (segments of the target list), so a zone whose window is closed is skipped as a block and
 * the state stays bounded by waves × zones, never by the fleet size. One window per zone is
 * known at a time (the one open now, or the next), computed by an activity as for a rollout-wide
 * window; no clock and no time-zone rules here.
 */

/** A window's times, epoch ms, closing time excluded (protocol/maintenance-window.ts). */
export interface ZoneWindow {
  opensAtMs: number;
  closesAtMs: number;
}

/** Consecutive targets [start, end) of one zone, inside one wave; `next` is the first not started yet. */
export interface ZoneSegment {
  zone: number;
  start: number;
  end: number;
  next: number;
}

export interface DeviceWindows {
  /** IANA names; a segment's `zone` indexes this list. */
  zones: string[];
  /** In target order, contiguous, covering every target; none straddles a wave boundary. */
  segments: ZoneSegment[];
  /** Per zone: its window open now or the next one; null until computed. */
  windows: (ZoneWindow | null)[];
}

/** A wave's range of target indexes. */
export interface TargetRange {
  start: number;
  end: number;
}

/**
 * Groups a batch of targets by zone, stably and with zones in name order, so that the order is
 * the same on every replay and devices of one zone keep the order they were given in.
 */
export function sortByZone(ids: readonly string[], zoneOf: readonly string[]): { ids: string[]; zones: string[] } {
  const order = ids.map((_, i) => i).sort((a, b) => (zoneOf[a] < zoneOf[b] ? -1 : zoneOf[a] > zoneOf[b] ? 1 : a - b));
  return { ids: order.map((i) => ids[i]), zones: order.map((i) => zoneOf[i]) };
}

/** Appends segments for targets starting at `start`, already sorted by zone (sortByZone) within their wave. */
function appendSegments(dw: DeviceWindows, start: number, zones: readonly string[]): DeviceWindows {
  const names = [...dw.zones];
  const windows = [...dw.windows];
  const segments = [...dw.segments];
  const numberOf = (zone: string) => {
    let k = names.indexOf(zone);
    if (k < 0) {
      k = names.push(zone) - 1;
      windows.push(null);
    }
    return k;
  };
  zones.forEach((zone, i) => {
    const at = start + i;
    const k = numberOf(zone);
    const last = segments.at(-1);
    // A new segment per zone; a batch's first target never joins the segment before it (that
    // may be another wave's, or an earlier batch already being started).
    if (last && i > 0 && last.zone === k && last.end === at) segments[segments.length - 1] = { ...last, end: at + 1 };
    else segments.push({ zone: k, start: at, end: at + 1, next: at });
  });
  return { zones: names, segments, windows };
}

/**
 * The start of a rollout with per-device windows: each wave's targets grouped by zone (a
 * device stays in its wave), and the segments that say where each zone's devices are.
 */
export function groupTargetsByZone(
  targets: readonly string[],
  zoneOf: readonly string[],
  waves: readonly TargetRange[],
): { targets: string[]; deviceWindows: DeviceWindows } {
  let dw: DeviceWindows = { zones: [], segments: [], windows: [] };
  const ordered: string[] = [];
  for (const w of waves) {
    const sorted = sortByZone(targets.slice(w.start, w.end), zoneOf.slice(w.start, w.end));
    ordered.push(...sorted.ids);
    dw = appendSegments(dw, w.start, sorted.zones);
  }
  return { targets: ordered, deviceWindows: dw };
}

/** Devices a continuous rollout found later, appended at `start` (already sorted by zone: sortByZone). */
export function addZonedTargets(dw: DeviceWindows, start: number, zones: readonly string[]): DeviceWindows {
  return appendSegments(dw, start, zones);
}

function inRange(s: ZoneSegment, r: TargetRange): boolean {
  return s.start >= r.start && s.end <= r.end;
}

export function isOpen(w: ZoneWindow | null, nowMs: number): boolean {
  return w !== null && w.opensAtMs <= nowMs && nowMs < w.closesAtMs;
}

/** Devices of the wave not started yet whose window is open now. */
export function openPending(dw: DeviceWindows, wave: TargetRange, nowMs: number): number {
  let n = 0;
  for (const s of dw.segments) if (inRange(s, wave) && s.next < s.end && isOpen(dw.windows[s.zone], nowMs)) n += s.end - s.next;
  return n;
}

/** Zones with devices of the wave not started yet whose window is unknown or over: they need the activity. */
export function zonesToFind(dw: DeviceWindows, wave: TargetRange, nowMs: number): number[] {
  const zones = new Set<number>();
  for (const s of dw.segments) {
    if (!inRange(s, wave) || s.next >= s.end) continue;
    const w = dw.windows[s.zone];
    if (w === null || nowMs >= w.closesAtMs) zones.add(s.zone);
  }
  return [...zones].sort((a, b) => a - b);
}

/** When the next window of a zone with waiting devices in the wave opens; undefined when none waits. */
export function nextOpening(dw: DeviceWindows, wave: TargetRange, nowMs: number): number | undefined {
  let at: number | undefined;
  for (const s of dw.segments) {
    const w = dw.windows[s.zone];
    if (!inRange(s, wave) || s.next >= s.end || w === null || isOpen(w, nowMs) || w.opensAtMs <= nowMs) continue;
    at = at === undefined ? w.opensAtMs : Math.min(at, w.opensAtMs);
  }
  return at;
}

/** Takes up to `n` devices of the wave whose window is open, in target order; returns their indexes. */
export function takeOpen(dw: DeviceWindows, wave: TargetRange, n: number, nowMs: number): { deviceWindows: DeviceWindows; targets: number[] } {
  const targets: number[] = [];
  const segments = dw.segments.map((s) => {
    if (targets.length >= n || !inRange(s, wave) || s.next >= s.end || !isOpen(dw.windows[s.zone], nowMs)) return s;
    const k = Math.min(n - targets.length, s.end - s.next);
    for (let t = s.next; t < s.next + k; t++) targets.push(t);
    return { ...s, next: s.next + k };
  });
  return { deviceWindows: { ...dw, segments }, targets };
}

export function recordZoneWindow(dw: DeviceWindows, zone: number, window: ZoneWindow): DeviceWindows {
  if (zone < 0 || zone >= dw.zones.length) return dw;
  return { ...dw, windows: dw.windows.map((w, k) => (k === zone ? window : w)) };
}

/** Per zone with devices not started yet: how many wait, and its window; for the status. */
export function zoneSummary(dw: DeviceWindows): Array<{ timeZone: string; pending: number; window: ZoneWindow | null }> {
  const pending = dw.zones.map(() => 0);
  for (const s of dw.segments) pending[s.zone] += s.end - s.next;
  return dw.zones.map((timeZone, k) => ({ timeZone, pending: pending[k], window: dw.windows[k] })).filter((z) => z.pending > 0);
}
