import { Cron } from 'croner';

/**
 * A recurring maintenance window: it opens at each time a cron expression names (5 fields, or
 * 6 with seconds first), in an
 * IANA time zone, and stays open `durationMs` of elapsed time. Times follow the zone's clocks,
 * daylight-saving changes included: a time that does not exist on a spring-forward day (02:30
 * in Europe/Berlin) opens the window at the first time after the gap (03:00); a time that
 * exists twice on a fall-back day opens it once, at its first occurrence. The duration is
 * elapsed time, not wall-clock time: a 3-hour window is 3 hours on those days too.
 *
 * Not workflow code: time-zone rules come with the Node.js build and may change with it, so a
 * rollout asks for its windows through an activity, whose answers its history keeps.
 */
export interface MaintenanceWindow {
  cron: string;
  durationMs: number;
  timeZone: string;
}

export const MIN_WINDOW_MS = 1_000;
export const MAX_WINDOW_MS = 7 * 24 * 3_600_000;

/** An open window (or the next one): epoch ms, closing time excluded. */
export interface WindowTimes {
  opensAtMs: number;
  closesAtMs: number;
}

/**
 * The window open at `atMs`, or else the next one. Errors are values: a cron expression or a
 * time zone that is not one, or a cron expression that never fires again.
 */
export function windowAt(w: MaintenanceWindow, atMs: number): { ok: true; value: WindowTimes } | { ok: false; reason: string } {
  const fields = w.cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return {
      ok: false,
      reason: `window.cron must have 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, got ${JSON.stringify(w.cron)}`,
    };
  }
  if (!(Number.isInteger(w.durationMs) && w.durationMs >= MIN_WINDOW_MS && w.durationMs <= MAX_WINDOW_MS)) {
    return { ok: false, reason: `window.durationMs must be a whole number from ${MIN_WINDOW_MS} (1 second) to ${MAX_WINDOW_MS} (7 days), got ${w.durationMs}` };
  }
  try {
    // The earliest opening after (atMs - duration) is either open at atMs or the next one.
    const next = new Cron(w.cron, { timezone: w.timeZone, paused: true }).nextRun(new Date(atMs - w.durationMs));
    if (!next) return { ok: false, reason: `window.cron ${JSON.stringify(w.cron)} never opens again` };
    const opensAtMs = next.getTime();
    return { ok: true, value: { opensAtMs, closesAtMs: opensAtMs + w.durationMs } };
  } catch (err) {
    return { ok: false, reason: `window: ${(err as Error).message}` };
  }
}
