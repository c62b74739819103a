import fc from 'fast-check';
import type { DeviceSnapshot } from '../../protocol/device-contract';
import { MAX_WATCHERS_PER_DEVICE, type DeviceWatcher, type DeviceWatchRequest } from '../../protocol/device-watch-contract';
import { emptyDeviceRecord } from '../../workflows/device-record';
import { applyWatchRequest, checkWatchRequest, newsFor, pruneWatchers, wakeFor } from '../../workflows/device-watchers';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const watch = (commandId: string, sinceS = 0, untilS = 3600): DeviceWatchRequest => ({
  kind: 'watch',
  commandId,
  since: at(sinceS),
  untilMs: T0 + untilS * 1000,
});
const online = (lastS: number, bootId = 'b1'): DeviceSnapshot => ({
  ...emptyDeviceRecord('d1'),
  presence: 'online',
  bootId,
  lastStatusAt: at(lastS),
  boots: 1,
});

describe('the commands a device entity wakes', () => {
  test('watch adds once; a repeat changes nothing; unwatch removes; an unknown unwatch changes nothing', () => {
    const a = applyWatchRequest([], watch('c1'));
    expect(a.outcome).toBe('added');
    expect(applyWatchRequest(a.watchers, watch('c1'))).toEqual({ watchers: a.watchers, outcome: 'unchanged' });
    expect(applyWatchRequest(a.watchers, watch('c1', 5)).outcome).toBe('updated');
    expect(applyWatchRequest(a.watchers, { kind: 'unwatch', commandId: 'c1' })).toEqual({ watchers: [], outcome: 'removed' });
    expect(applyWatchRequest(a.watchers, { kind: 'unwatch', commandId: 'c2' })).toEqual({ watchers: a.watchers, outcome: 'unchanged' });
  });

  test(`at most ${MAX_WATCHERS_PER_DEVICE} per device: one caller cannot make a device's wake-up cost more`, () => {
    let watchers: DeviceWatcher[] = [];
    for (let i = 0; i < MAX_WATCHERS_PER_DEVICE; i++) watchers = applyWatchRequest(watchers, watch(`c${i}`)).watchers;
    expect(watchers).toHaveLength(MAX_WATCHERS_PER_DEVICE);
    expect(applyWatchRequest(watchers, watch('one-too-many'))).toEqual({ watchers, outcome: 'full' });
    // One that is already watched may still renew; a freed place is taken again.
    expect(applyWatchRequest(watchers, watch('c0', 9)).outcome).toBe('updated');
    const freed = applyWatchRequest(watchers, { kind: 'unwatch', commandId: 'c0' }).watchers;
    expect(applyWatchRequest(freed, watch('one-too-many')).outcome).toBe('added');
  });

  test('property: any sequence of requests keeps one entry per command, never more than the limit, and applying a request twice is applying it once', () => {
    const request = fc.oneof(
      fc.record({
        kind: fc.constant('watch' as const),
        commandId: fc.integer({ min: 0, max: 150 }).map((i) => `c${i}`),
        since: fc.integer({ min: 0, max: 10 }).map(at),
        untilMs: fc.constant(T0 + 3600_000),
      }),
      fc.record({ kind: fc.constant('unwatch' as const), commandId: fc.integer({ min: 0, max: 150 }).map((i) => `c${i}`) }),
    );
    fc.assert(
      fc.property(fc.array(request, { maxLength: 400 }), (requests) => {
        let w: DeviceWatcher[] = [];
        for (const r of requests) {
          const once = applyWatchRequest(w, r).watchers;
          expect(applyWatchRequest(once, r).watchers).toEqual(once);
          w = once;
        }
        expect(new Set(w.map((x) => x.commandId)).size).toBe(w.length);
        expect(w.length).toBeLessThanOrEqual(MAX_WATCHERS_PER_DEVICE);
      }),
    );
  });

  test('past its hold time a command is forgotten (it was terminated and never said unwatch)', () => {
    const watchers = [watch('c1', 0, 10), watch('c2', 0, 20)].reduce<DeviceWatcher[]>((w, r) => applyWatchRequest(w, r).watchers, []);
    expect(pruneWatchers(watchers, T0 + 5_000)).toEqual({ watchers, dropped: [] });
    expect(pruneWatchers(watchers, T0 + 10_000)).toEqual({ watchers: [watchers[1]], dropped: ['c1'] });
  });

  test('a new watcher is told at once only of news after what it knew', () => {
    expect(newsFor(emptyDeviceRecord('d1'), at(0))).toBeUndefined(); // never heard from the device
    expect(newsFor(online(5), at(5))).toBeUndefined();
    expect(newsFor(online(6), at(5))).toEqual({ deviceId: 'd1', state: 'online', bootId: 'b1', observedAt: at(6) });
    expect(newsFor({ ...online(6), presence: 'offline' }, at(5))?.state).toBe('offline');
  });

  test('woken when the device is online after being away or in a new boot, and whenever it asks; not by a heartbeat, an attribute change or going offline', () => {
    const r = online(1);
    const event = (e: 'first-seen' | 'came-online' | 'rebooted' | 'went-offline' | 'attributes-changed') => [{ at: at(1), event: e, detail: '' }];
    expect(wakeFor(r, event('first-seen'), false)).toEqual({ deviceId: 'd1', state: 'online', bootId: 'b1', observedAt: at(1) });
    expect(wakeFor(r, event('came-online'), false)).toBeDefined();
    expect(wakeFor(r, event('rebooted'), false)).toBeDefined();
    expect(wakeFor(r, event('attributes-changed'), false)).toBeUndefined();
    expect(wakeFor(r, [], false)).toBeUndefined();
    expect(wakeFor(r, [], true)).toEqual({ deviceId: 'd1', state: 'online', bootId: 'b1', observedAt: at(1), asked: true });
    expect(wakeFor({ ...r, presence: 'offline' }, event('went-offline'), false)).toBeUndefined();
    expect(wakeFor({ ...r, presence: 'offline' }, event('rebooted'), false)).toBeUndefined();
  });

  test('requests from anyone are checked: errors are values', () => {
    expect(checkWatchRequest(watch('c1'))).toEqual({ ok: true, request: watch('c1') });
    expect(checkWatchRequest({ kind: 'unwatch', commandId: 'c1', extra: 1 })).toEqual({ ok: true, request: { kind: 'unwatch', commandId: 'c1' } });
    expect(checkWatchRequest(null)).toMatchObject({ ok: false });
    expect(checkWatchRequest({ kind: 'watch', commandId: 'bad id!', since: at(0), untilMs: T0 })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/commandId/),
    });
    expect(checkWatchRequest({ kind: 'watch', commandId: 'c1', since: 'yesterday', untilMs: T0 })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/since/),
    });
    expect(checkWatchRequest({ kind: 'watch', commandId: 'c1', since: at(0), untilMs: 'never' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/untilMs/),
    });
    expect(checkWatchRequest({ kind: 'subscribe', commandId: 'c1' })).toMatchObject({ ok: false, reason: expect.stringMatching(/kind/) });
  });
});
