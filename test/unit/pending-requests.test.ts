import { PENDING_MIN_INTERVAL_MS, PendingRequestPacer } from '../../bridge/pending-requests';

describe('pacing of pending requests', () => {
  test('one request per device per interval passes; other devices are not affected', () => {
    let now = 0;
    const pacer = new PendingRequestPacer(PENDING_MIN_INTERVAL_MS, () => now);
    expect(pacer.admit('a')).toBe(true);
    expect(pacer.admit('a')).toBe(false);
    expect(pacer.admit('b')).toBe(true);
    now = PENDING_MIN_INTERVAL_MS - 1;
    expect(pacer.admit('a')).toBe(false);
    now = PENDING_MIN_INTERVAL_MS;
    expect(pacer.admit('a')).toBe(true);
  });

  test('memory stays bounded: devices quiet for an interval are forgotten once many have asked', () => {
    let now = 0;
    const pacer = new PendingRequestPacer(1_000, () => now);
    for (let i = 0; i < 10_000; i++) pacer.admit(`d${i}`);
    now = 1_000;
    pacer.admit('late');
    expect(pacer.size).toBe(1);
  });
});
