import { DEFAULT_RECONNECT, reconnectDelayMs } from '../../config/mqtt-connect';

describe('reconnect backoff', () => {
  test('doubles from the initial delay up to the cap, with jitter inside ±jitter', () => {
    const exact = { ...DEFAULT_RECONNECT, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => reconnectDelayMs(n, exact))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const d = reconnectDelayMs(3, DEFAULT_RECONNECT, () => r);
      expect(d).toBeGreaterThanOrEqual(2000 * 0.8);
      expect(d).toBeLessThanOrEqual(2000 * 1.2);
    }
    expect(reconnectDelayMs(3, DEFAULT_RECONNECT, () => 0)).toBe(1600);
  });
});
