import fc from 'fast-check';
import { windowAt } from '../../protocol/maintenance-window';
import { RolloutSpec, type RolloutSpecInput } from '../../protocol/rollout-spec';
import { groupTargetsByZone, sortByZone } from '../../workflows/rollout-device-windows';
import { advanceWave, nextAction, recordDeviceWindow, recordFinished, recordStarted, windowsToFind } from '../../workflows/rollout-plan';
import { newProgress, type RolloutProgress } from '../../workflows/rollout-progress';
import { addTargets } from '../../workflows/rollout-joined-targets';
import { approve } from '../../workflows/rollout-operator-controls';
import { rolloutStatus } from '../../workflows/rollout-status';

/**
 * Per-device maintenance windows (RolloutSpec.window.deviceTimeZone), driven as the workflow
 * drives them, on a virtual clock: each device waits for the window in its own time zone.
 */

// 2026-02-02T02:40:00Z, a Monday.
const T0 = 1_770_000_000_000;
const iso = (ms: number) => new Date(ms).toISOString();

function specOf(zones: readonly string[], patch: Partial<RolloutSpecInput> = {}) {
  return RolloutSpec.parse({
    rolloutId: 'r1',
    name: 'reboot',
    targets: zones.map((_, i) => `d${i}`),
    adaptive: false,
    rampUp: false,
    canary: { count: zones.length },
    waves: [{ percent: 100 }],
    ...patch,
  });
}

/**
 * What the rollout workflow does with per-device windows: groups the targets by the zone their
 * devices report (as the activity reads them), then asks nextAction and acts until it ends.
 * Commands take `durationMs`. Returns each device's start time by device ID.
 */
function drive(spec: RolloutSpec, zoneOfDevice: (id: string) => string, o: { durationMs?: number; joins?: Array<{ atMs: number; ids: string[] }> } = {}) {
  let now = T0;
  let p: RolloutProgress = newProgress(spec.targets.length, spec, now);
  const grouped = groupTargetsByZone(spec.targets, spec.targets.map(zoneOfDevice), p.waves);
  const targets = grouped.targets;
  p = { ...p, deviceWindows: grouped.deviceWindows };
  const finishes = new Map<number, number>();
  const startedAt = new Map<string, number>();
  let maxInFlight = 0;
  const joins = [...(o.joins ?? [])];
  for (let step = 0; step < 100_000; step++) {
    while (joins.length && joins[0].atMs <= now) {
      const sorted = sortByZone(joins[0].ids, joins.shift()!.ids.map(zoneOfDevice));
      targets.push(...sorted.ids);
      p = addTargets(p, sorted.ids.length, sorted.zones);
    }
    const a = nextAction(p, now, spec);
    const finishUntil = (t: number) => {
      for (const [i, at] of [...finishes].filter(([, at]) => at <= t).sort((x, y) => x[1] - y[1] || x[0] - y[0])) {
        finishes.delete(i);
        p = recordFinished(p, i, 'Succeeded', Math.max(now, at), spec);
      }
      now = Math.max(now, t);
    };
    switch (a.kind) {
      case 'start-more': {
        const r = recordStarted(p, a.count, now, spec);
        expect(r.targets).toHaveLength(a.count);
        p = r.progress;
        for (const t of r.targets) {
          if (startedAt.has(targets[t])) throw new Error(`${targets[t]} started twice`);
          startedAt.set(targets[t], now);
          finishes.set(t, now + (o.durationMs ?? 1_000));
        }
        maxInFlight = Math.max(maxInFlight, p.inFlight.length);
        expect(p.inFlight).toEqual([...p.inFlight].sort((x, y) => x - y));
        break;
      }
      case 'find-window': {
        const zones = windowsToFind(p, now);
        expect(zones.length).toBeGreaterThan(0);
        for (const z of zones) {
          const w = windowAt({ ...spec.window!, timeZone: p.deviceWindows!.zones[z] }, now);
          if (!w.ok) throw new Error(w.reason);
          p = recordDeviceWindow(p, z, w.value);
        }
        break;
      }
      case 'wait-window':
        finishUntil(joins.length ? Math.min(a.untilMs, joins[0].atMs) : a.untilMs);
        break;
      case 'wait-in-flight':
        finishUntil(Math.min(...finishes.values()));
        break;
      case 'soak':
        finishUntil(a.untilMs);
        break;
      case 'await-approval':
        p = approve(p, a.wave);
        break;
      case 'advance-wave':
        p = advanceWave(p, now, spec);
        break;
      case 'wait-devices':
        // Time passes until the next join, or until the end time.
        if (joins.length) now = Math.max(now, joins[0].atMs);
        else if (spec.endAt && now < Date.parse(spec.endAt)) now = Date.parse(spec.endAt);
        else return { final: a, startedAt, targets, p, now, maxInFlight };
        break;
      default:
        return { final: a, startedAt, targets, p, now, maxInFlight };
    }
  }
  throw new Error('the rollout did not end');
}

const inWindowOf = (window: RolloutSpec['window'] & object, timeZone: string, t: number) => {
  const w = windowAt({ ...window, timeZone }, t);
  return w.ok && w.value.opensAtMs <= t && t < w.value.closesAtMs;
};

describe('per-device maintenance windows (window.deviceTimeZone)', () => {
  // Every night at 03:00 local time, for 10 minutes.
  const nightly = { cron: '0 3 * * *', durationMs: 10 * 60_000, timeZone: 'UTC', deviceTimeZone: true };

  it('each device gets the command in its own night: Tokyo first, then Berlin, then the devices without a zone (UTC)', () => {
    const zones = ['Europe/Berlin', 'Asia/Tokyo', 'UTC', 'Asia/Tokyo', 'Europe/Berlin', 'UTC'];
    const spec = specOf(zones, { window: nightly });
    const r = drive(spec, (id) => zones[Number(id.slice(1))]);
    expect(r.final).toEqual({ kind: 'done' });
    const at = (i: number) => iso(r.startedAt.get(`d${i}`)!);
    // From Monday 02:40Z: 03:00 Tokyo is 18:00Z, 03:00 Berlin (CET) is 02:00Z on Tuesday, 03:00 UTC follows.
    expect([at(1), at(3)]).toEqual(['2026-02-02T18:00:00.000Z', '2026-02-02T18:00:00.000Z']);
    expect([at(0), at(4)]).toEqual(['2026-02-03T02:00:00.000Z', '2026-02-03T02:00:00.000Z']);
    expect([at(2), at(5)]).toEqual(['2026-02-02T03:00:00.000Z', '2026-02-02T03:00:00.000Z']);
    // Grouped by zone inside the wave, in name order; within a zone, the order given.
    expect(r.targets).toEqual(['d1', 'd3', 'd0', 'd4', 'd2', 'd5']);
    expect(r.p.deviceWindows!.zones).toEqual(['Asia/Tokyo', 'Europe/Berlin', 'UTC']);
  });

  it('a device never waits for another zone: while Tokyo waits for its night, the UTC devices run', () => {
    const zones = ['Asia/Tokyo', 'UTC'];
    const spec = specOf(zones, { window: nightly });
    let p = newProgress(2, spec, T0);
    p = { ...p, deviceWindows: groupTargetsByZone(spec.targets, zones, p.waves).deviceWindows };
    const at = Date.parse('2026-02-02T03:05:00Z'); // UTC's window is open, Tokyo's (18:00Z) is not
    expect(nextAction(p, at, spec)).toEqual({ kind: 'find-window' });
    for (const z of windowsToFind(p, at))
      p = recordDeviceWindow(
        p,
        z,
        (windowAt({ ...nightly, timeZone: p.deviceWindows!.zones[z] }, at) as { ok: true; value: { opensAtMs: number; closesAtMs: number } }).value,
      );
    expect(nextAction(p, at, spec)).toEqual({ kind: 'start-more', count: 1 });
    const started = recordStarted(p, 1, at, spec);
    expect(started.targets).toEqual([1]); // d1, the UTC device (Asia/Tokyo sorts first)
    expect(nextAction(started.progress, at, spec)).toEqual({ kind: 'wait-window', untilMs: Date.parse('2026-02-02T18:00:00Z') });
    expect(rolloutStatus(started.progress, at, spec).timeZones).toEqual([
      { timeZone: 'Asia/Tokyo', pending: 1, opensAt: '2026-02-02T18:00:00.000Z', closesAt: '2026-02-02T18:10:00.000Z' },
    ]);
  });

  it('waves stay waves: a device of the canary is never moved into a later wave by its zone', () => {
    const zones = ['UTC', 'Asia/Tokyo', 'UTC', 'Asia/Tokyo'];
    const spec = specOf(zones, { window: nightly, canary: { count: 2 }, waves: [{ percent: 100 }] });
    const r = drive(spec, (id) => zones[Number(id.slice(1))]);
    expect(r.final).toEqual({ kind: 'done' });
    expect(r.targets).toEqual(['d1', 'd0', 'd3', 'd2']);
    // The canary (d0 UTC at 03:00Z, d1 Tokyo at 18:00Z) ends in Tokyo's window, so the wave's
    // Tokyo device starts at once, a second later; its UTC device waits for the next UTC night.
    expect(iso(r.startedAt.get('d0')!)).toBe('2026-02-02T03:00:00.000Z');
    expect(iso(r.startedAt.get('d1')!)).toBe('2026-02-02T18:00:00.000Z');
    expect(iso(r.startedAt.get('d3')!)).toBe('2026-02-02T18:00:01.000Z');
    expect(iso(r.startedAt.get('d2')!)).toBe('2026-02-03T03:00:00.000Z');
  });

  it('devices a continuous rollout finds later wait for their own window too', () => {
    const zones: Record<string, string> = { d0: 'UTC', late1: 'Asia/Tokyo', late2: 'UTC' };
    const spec = specOf(['UTC'], { window: nightly, continuous: { query: "DeviceModel = 'x'" }, endAt: iso(T0 + 3 * 86_400_000) });
    const r = drive(spec, (id) => zones[id], { joins: [{ atMs: T0 + 3_600_000, ids: ['late2', 'late1'] }] });
    expect(r.final).toEqual({ kind: 'done' });
    expect(iso(r.startedAt.get('late1')!)).toBe('2026-02-02T18:00:00.000Z');
    expect(iso(r.startedAt.get('late2')!)).toBe('2026-02-03T03:00:00.000Z'); // joined after UTC's window of the day closed
  });

  it("property: every device starts exactly once, inside its own zone's window, within the concurrency and its wave", () => {
    const zonePool = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'UTC', 'Australia/Lord_Howe', 'America/St_Johns'];
    const crons = ['0 3 * * *', '*/20 * * * *', '30 2 * * 1-5', '15 1 * * *'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...zonePool), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(...crons),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 90 }),
        (zones, cron, minutes, concurrency, canaryPercent) => {
          const window = { cron, durationMs: minutes * 60_000, timeZone: 'UTC', deviceTimeZone: true };
          const spec = specOf(zones, { window, concurrency, canary: { percent: canaryPercent }, waves: [{ percent: 100 }] });
          const r = drive(spec, (id) => zones[Number(id.slice(1))], { durationMs: 90_000 });
          expect(r.final).toEqual({ kind: 'done' });
          expect(r.startedAt.size).toBe(zones.length);
          expect(r.maxInFlight).toBeLessThanOrEqual(concurrency);
          for (const [id, t] of r.startedAt) {
            const zone = zones[Number(id.slice(1))];
            if (!inWindowOf(window, zone, t)) throw new Error(`${id} (${zone}) started at ${iso(t)}, outside ${cron} for ${minutes} min`);
          }
          // Wave membership is the plan's: the canary's devices all start before any of the wave's.
          const canary = r.p.waves[0];
          const canaryIds = new Set(r.targets.slice(canary.start, canary.end));
          expect(canaryIds).toEqual(new Set(spec.targets.slice(canary.start, canary.end)));
          const lastCanary = Math.max(...[...canaryIds].map((id) => r.startedAt.get(id)!));
          for (const id of r.targets.slice(canary.end)) expect(r.startedAt.get(id)!).toBeGreaterThanOrEqual(lastCanary);
        },
      ),
      { numRuns: 80 },
    );
  });
});
