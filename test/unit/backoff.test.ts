import fc from 'fast-check';
import { BackoffOptions } from '../../protocol/command-options';
import { backoffDelayMs } from '../../workflows/backoff';

const middle = () => 0.5; // 2 * 0.5 - 1 = 0: no jitter
const noJitter = (o: Partial<BackoffOptions> = {}): BackoffOptions => ({ initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0, ...o });

describe('backoffDelayMs', () => {
  it('grows exponentially from initialMs: attempt 1 waits initialMs', () => {
    const delays = [1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, noJitter(), Math.random));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  it('uses the multiplier', () => {
    const delays = [1, 2, 3, 4].map((a) => backoffDelayMs(a, noJitter({ initialMs: 100, multiplier: 3 }), middle));
    expect(delays).toEqual([100, 300, 900, 2_700]);
  });

  it('multiplier 1 is a constant delay', () => {
    expect([1, 5, 50].map((a) => backoffDelayMs(a, noJitter({ initialMs: 700, multiplier: 1 }), middle))).toEqual([700, 700, 700]);
  });

  it('is capped at maxMs', () => {
    const delays = [5, 6, 7, 20, 100].map((a) => backoffDelayMs(a, noJitter(), middle));
    expect(delays).toEqual([16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('treats attempt 0 and below like attempt 1', () => {
    expect(backoffDelayMs(0, noJitter(), middle)).toBe(1_000);
    expect(backoffDelayMs(-3, noJitter(), middle)).toBe(1_000);
  });

  it('with zero jitter ignores random entirely', () => {
    for (const r of [0, 0.25, 0.999999]) expect(backoffDelayMs(3, noJitter(), () => r)).toBe(4_000);
  });

  it('jitter spreads ±jitter × base around the base', () => {
    const b = noJitter({ jitter: 0.2 });
    expect(backoffDelayMs(3, b, () => 0)).toBe(3_200); // 4000 - 800
    expect(backoffDelayMs(3, b, () => 0.5)).toBe(4_000);
    expect(backoffDelayMs(3, b, () => 0.75)).toBe(4_400);
    expect(backoffDelayMs(3, b, () => 0.9999999)).toBe(4_800); // rounds up to the upper bound
  });

  it('the jitter applies to the capped value, and the result still never exceeds maxMs', () => {
    expect(backoffDelayMs(20, noJitter({ jitter: 0.2 }), () => 0.9999999)).toBe(30_000);
    expect(backoffDelayMs(20, noJitter({ jitter: 0.2 }), () => 0)).toBe(24_000);
  });

  it('initialMs 0 means no wait', () => {
    expect(backoffDelayMs(7, noJitter({ initialMs: 0, jitter: 1 }), () => 0.9)).toBe(0);
  });

  it('uses the schema defaults: 1 s, ×2, 30 s cap, 20 % jitter', () => {
    const defaults = BackoffOptions.parse({});
    expect(defaults).toEqual({ initialMs: 1_000, maxMs: 30_000, multiplier: 2, jitter: 0.2 });
    expect(backoffDelayMs(2, defaults, middle)).toBe(2_000);
  });

  const optionsArb = fc.record({
    initialMs: fc.integer({ min: 0, max: 24 * 3600_000 }),
    maxMs: fc.integer({ min: 0, max: 24 * 3600_000 }),
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  });
  const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
  // maxAttempts is at most 100, so attempt is at most 99 when a backoff is computed.
  const attemptArb = fc.integer({ min: 1, max: 100 });

  it('property: the delay stays within base × (1 ± jitter), base = min(maxMs, initialMs × multiplier^(attempt-1))', () => {
    fc.assert(
      fc.property(attemptArb, optionsArb, randomArb, (attempt, b, r) => {
        const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.multiplier, attempt - 1));
        const d = backoffDelayMs(attempt, b, () => r);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(Math.max(0, Math.floor(base * (1 - b.jitter))));
        expect(d).toBeLessThanOrEqual(Math.ceil(base * (1 + b.jitter)));
        expect(d).toBeLessThanOrEqual(Math.ceil(b.maxMs * (1 + b.jitter)));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: with zero jitter the delay is exactly the rounded base, whatever random returns', () => {
    fc.assert(
      fc.property(attemptArb, optionsArb, randomArb, (attempt, b, r) => {
        const exact = { ...b, jitter: 0 };
        const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.multiplier, attempt - 1));
        expect(backoffDelayMs(attempt, exact, () => r)).toBe(Math.round(base));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: without jitter the delay never decreases from one attempt to the next', () => {
    fc.assert(
      fc.property(attemptArb, optionsArb, (attempt, b) => {
        const exact = { ...b, jitter: 0 };
        expect(backoffDelayMs(attempt + 1, exact, middle)).toBeGreaterThanOrEqual(backoffDelayMs(attempt, exact, middle));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: random is monotonic in its effect (a larger random never gives a shorter delay)', () => {
    fc.assert(
      fc.property(attemptArb, optionsArb, randomArb, randomArb, (attempt, b, r1, r2) => {
        const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
        expect(backoffDelayMs(attempt, b, () => lo)).toBeLessThanOrEqual(backoffDelayMs(attempt, b, () => hi));
      }),
      { numRuns: 500 },
    );
  });
});
