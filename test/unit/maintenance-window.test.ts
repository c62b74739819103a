import { windowAt, type MaintenanceWindow } from '../../protocol/maintenance-window';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const win = (w: MaintenanceWindow, when: string) => {
  const r = windowAt(w, at(when));
  if (!r.ok) throw new Error(r.reason);
  return [iso(r.value.opensAtMs), iso(r.value.closesAtMs)];
};

describe('maintenance windows in a time zone', () => {
  const berlin = (cron: string, hours = 1) => ({ cron, durationMs: hours * 3_600_000, timeZone: 'Europe/Berlin' });

  it('the window open now, or else the next one', () => {
    expect(win(berlin('0 2 * * *'), '2026-01-10T00:30:00Z')).toEqual(['2026-01-10T01:00:00.000Z', '2026-01-10T02:00:00.000Z']); // next: 02:00 CET
    expect(win(berlin('0 2 * * *'), '2026-01-10T01:30:00Z')).toEqual(['2026-01-10T01:00:00.000Z', '2026-01-10T02:00:00.000Z']); // open now
    expect(win(berlin('0 2 * * *'), '2026-01-10T02:00:00Z')).toEqual(['2026-01-11T01:00:00.000Z', '2026-01-11T02:00:00.000Z']); // closed: the closing time is excluded
    expect(win(berlin('0 2 * * *'), '2026-07-10T00:30:00Z')).toEqual(['2026-07-10T00:00:00.000Z', '2026-07-10T01:00:00.000Z']); // summer: 02:00 CEST is 00:00Z, open now
  });

  it('spring forward (Berlin, 2026-03-29, 02:00 → 03:00): a time in the gap opens at the first time after it, once', () => {
    expect(win(berlin('30 2 * * *'), '2026-03-28T12:00:00Z')).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']); // 03:00 CEST
    expect(win(berlin('30 2 * * *'), '2026-03-29T02:00:00Z')).toEqual(['2026-03-30T00:30:00.000Z', '2026-03-30T01:30:00.000Z']); // the next day, 02:30 CEST
    // A 3-hour window is 3 hours of elapsed time, also across the change.
    expect(win(berlin('0 1 * * *', 3), '2026-03-28T12:00:00Z')).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T03:00:00.000Z']);
  });

  it('fall back (Berlin, 2026-10-25, 03:00 → 02:00): a time that happens twice opens the window once, at its first occurrence', () => {
    expect(win(berlin('30 2 * * *'), '2026-10-24T12:00:00Z')).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']); // 02:30 CEST
    expect(win(berlin('30 2 * * *'), '2026-10-25T01:30:00Z')).toEqual(['2026-10-26T01:30:00.000Z', '2026-10-26T02:30:00.000Z']); // not again at 02:30 CET
  });

  it('the same rule in another zone follows that zone (New York changes on other days)', () => {
    const ny = { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'America/New_York' };
    expect(win(ny, '2026-03-07T12:00:00Z')).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']); // 02:00 EST does not exist on 03-08: 03:00 EDT
    expect(win(ny, '2026-03-09T00:00:00Z')).toEqual(['2026-03-09T06:00:00.000Z', '2026-03-09T07:00:00.000Z']); // 02:00 EDT
  });

  it.each([
    ['a cron of 7 fields', { cron: '0 0 2 * * * 2026', durationMs: 3_600_000, timeZone: 'UTC' }, /5 fields/],
    ['a minute of 61', { cron: '61 2 * * *', durationMs: 3_600_000, timeZone: 'UTC' }, /minute/],
    ['an unknown zone', { cron: '0 2 * * *', durationMs: 3_600_000, timeZone: 'Mars/Olympus' }, /Mars\/Olympus/],
    ['a window shorter than a second', { cron: '0 2 * * *', durationMs: 999, timeZone: 'UTC' }, /durationMs/],
  ])('%s is an error that says so', (_name, w, reason) => {
    const r = windowAt(w, at('2026-01-01T00:00:00Z'));
    expect(r.ok ? 'accepted' : r.reason).toMatch(reason);
  });
});
