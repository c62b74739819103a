import fc from 'fast-check';
import { DEVICE_EVENTS_KEPT, type DeviceStatusReport } from '../../protocol/device-contract';
import { applyStatusReport, attributeChanges, checkStatusReport, emptyDeviceRecord } from '../../workflows/device-record';

const at = (s: number) => new Date(Date.UTC(2026, 11, 3, 8, 0, s)).toISOString();
const report = (s: number, over: Partial<DeviceStatusReport> = {}): DeviceStatusReport => ({
  deviceId: 'd1',
  state: 'online',
  bootId: 'b1',
  receivedAt: at(s),
  ...over,
});
const applyAll = (reports: DeviceStatusReport[]) => reports.reduce((r, x) => applyStatusReport(r, x).record, emptyDeviceRecord('d1'));

describe('device record: applying status reports', () => {
  test('the first status: seen, online since then, one boot', () => {
    const { record, events } = applyStatusReport(emptyDeviceRecord('d1'), report(1, { attributes: { model: 'm1', firmware: '1.0.0' } }));
    expect(events.map((e) => e.event)).toEqual(['first-seen']);
    expect(record).toMatchObject({
      presence: 'online',
      bootId: 'b1',
      presenceSince: at(1),
      firstSeenAt: at(1),
      lastStatusAt: at(1),
      boots: 1,
      attributes: { model: 'm1', firmware: '1.0.0' },
    });
  });

  test('offline, online again, reboot, attributes: one event each, in order', () => {
    const r0 = applyAll([report(1, { attributes: { firmware: '1.0.0' } })]);
    const off = applyStatusReport(r0, report(2, { state: 'offline' }));
    expect(off.events.map((e) => e.event)).toEqual(['went-offline']);
    expect(off.record.attributes).toEqual({ firmware: '1.0.0' }); // the Last Will has none: kept
    const on = applyStatusReport(off.record, report(3));
    expect(on.events.map((e) => e.event)).toEqual(['came-online']);
    const boot = applyStatusReport(on.record, report(4, { bootId: 'b2', attributes: { firmware: '1.1.0' } }));
    expect(boot.events.map((e) => [e.event, e.detail])).toEqual([
      ['rebooted', 'boot b1 → b2 (online)'],
      ['attributes-changed', 'firmware 1.0.0 → 1.1.0'],
    ]);
    expect(boot.record).toMatchObject({ boots: 2, presenceSince: at(4), bootId: 'b2' });
  });

  test('a repeat changes nothing but when the device was last heard', () => {
    const r1 = applyAll([report(1)]);
    const again = applyStatusReport(r1, report(5));
    expect(again.events).toEqual([]);
    expect(again.record).toMatchObject({ presenceSince: at(1), lastStatusAt: at(5), boots: 1, reports: { applied: 2, stale: 0, invalid: 0 } });
  });

  test('a report older than the latest applied is ignored and counted', () => {
    const r = applyAll([report(1), report(3, { state: 'offline' })]);
    const late = applyStatusReport(r, report(2, { bootId: 'b-old' }));
    expect(late.stale).toBe(true);
    expect(late.record.presence).toBe('offline');
    expect(late.record.bootId).toBe('b1');
    expect(late.record.reports.stale).toBe(1);
  });

  test('any order of delivery ends in the state of the newest report (property)', () => {
    const arb = fc.array(
      fc.record({
        s: fc.integer({ min: 0, max: 59 }),
        state: fc.constantFrom('online' as const, 'offline' as const),
        bootId: fc.constantFrom('b1', 'b2', 'b3'),
      }),
      { minLength: 1, maxLength: 20 },
    );
    fc.assert(
      fc.property(arb, fc.func(fc.integer()), (xs, shuffleKey) => {
        // Distinct receive times, so "the newest" is well defined.
        const unique = [...new Map(xs.map((x) => [x.s, x])).values()];
        const reports = unique.map((x) => report(x.s, { state: x.state, bootId: x.bootId }));
        const shuffled = [...reports].sort((a, b) => shuffleKey(a.receivedAt) - shuffleKey(b.receivedAt));
        const newest = [...reports].sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt)).at(-1)!;
        const record = applyAll(shuffled);
        expect(record.presence).toBe(newest.state);
        expect(record.bootId).toBe(newest.bootId);
        expect(record.lastStatusAt).toBe(newest.receivedAt);
        expect(record.reports.applied + record.reports.stale).toBe(reports.length);
      }),
    );
  });

  test(`the record keeps the latest ${DEVICE_EVENTS_KEPT} events, however often a device flaps`, () => {
    const reports = Array.from({ length: 50 }, (_, i) => report(i, { state: i % 2 ? 'offline' : 'online' }));
    const record = applyAll(reports);
    expect(record.recent).toHaveLength(DEVICE_EVENTS_KEPT);
    expect(record.recent.at(-1)).toMatchObject({ at: at(49), event: 'went-offline' });
  });

  test('attribute changes name each field that differs', () => {
    expect(attributeChanges({ model: 'a', tags: ['x'] }, { model: 'a', tags: ['x', 'y'], site: 's1' })).toEqual(['site (none) → s1', 'tags [x] → [x y]']);
    expect(attributeChanges({ model: 'a' }, { model: 'a' })).toEqual([]);
  });
});

describe('device record: checking a report from anyone who may signal', () => {
  test('a well-formed report passes as it is', () => {
    const r = report(1, { deviceTs: at(0), attributes: { model: 'pump x2', firmware: '1.4.2', site: 'plant/7', timeZone: 'Europe/Berlin', tags: ['a', 'b'] } });
    expect(checkStatusReport('d1', r)).toEqual({ ok: true, report: r });
    // The device's request for its pending commands passes; anything but `true` is no request.
    expect(checkStatusReport('d1', { ...r, asked: true })).toEqual({ ok: true, report: { ...r, asked: true } });
    expect(checkStatusReport('d1', { ...r, asked: 'yes' })).toEqual({ ok: true, report: r });
  });

  test.each([
    ['not an object', 'x', 'not an object'],
    ['another device', { ...report(1), deviceId: 'd2' }, 'deviceId "d2" is not this entity\'s (d1)'],
    ['a bad state', { ...report(1), state: 'asleep' }, 'state "asleep" is not online or offline'],
    ['no bootId', { ...report(1), bootId: '' }, 'bootId must be a string of 1 to 128 characters'],
    ['a bad time', { ...report(1), receivedAt: 'yesterday' }, 'receivedAt must be an ISO timestamp'],
  ])('%s is refused with the reason', (_name, raw, reason) => {
    expect(checkStatusReport('d1', raw)).toEqual({ ok: false, reason });
  });

  test('attribute values out of bounds are dropped, the rest kept', () => {
    const checked = checkStatusReport('d1', {
      ...report(1),
      attributes: {
        model: 'x'.repeat(65),
        firmware: '2.0',
        site: 'a"b',
        timeZone: 'Not a zone',
        tags: ['ok', 'bad tag', ...Array.from({ length: 30 }, (_, i) => `t${i}`)],
      },
    });
    expect(checked.ok && checked.report.attributes).toEqual({ firmware: '2.0', tags: ['ok', ...Array.from({ length: 15 }, (_, i) => `t${i}`)] });
  });
});
